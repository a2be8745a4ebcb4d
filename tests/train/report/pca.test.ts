// kiln.train.pca against a float64 reference on fixed data: power iteration with deflation on the
// covariance, written here independently; data with known principal axes; degenerate inputs.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { stream } from '../../helpers/report-fixture.js';

/** Covariance of the centred rows and the top-k eigenpairs by power iteration with deflation (float64). */
function reference(x: readonly number[], n: number, d: number, k: number): { vectors: number[][]; values: number[]; trace: number; centred: number[][] } {
  const mean = Array.from({ length: d }, (_, j) => x.filter((_, i) => i % d === j).reduce((a, b) => a + b, 0) / n);
  const centred = Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => x[i * d + j]! - mean[j]!));
  const c = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => centred.reduce((s, r) => s + r[a]! * r[b]!, 0) / n));
  const trace = c.reduce((s, r, i) => s + r[i]!, 0);
  const vectors: number[][] = [];
  const values: number[] = [];
  for (let q = 0; q < k; q++) {
    let v = Array.from({ length: d }, (_, i) => 1 + i * 0.37);
    for (let it = 0; it < 5000; it++) {
      const w = c.map((row) => row.reduce((s, x2, j) => s + x2 * v[j]!, 0));
      const nrm = Math.hypot(...w);
      v = w.map((x2) => x2 / nrm);
    }
    const lambda = c.map((row) => row.reduce((s, x2, j) => s + x2 * v[j]!, 0)).reduce((s, x2, i) => s + x2 * v[i]!, 0);
    const big = v.reduce((m, x2) => (Math.abs(x2) > Math.abs(m) ? x2 : m), 0);
    v = v.map((x2) => (big < 0 ? -x2 : x2));
    vectors.push(v);
    values.push(lambda);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) c[a]![b]! -= lambda * v[a]! * v[b]!;
  }
  return { vectors, values, trace, centred };
}

/** n rows of d columns: variances 9, 2.25 along two orthonormal directions, 0.01-ish noise, an offset. */
function fixed(n: number, d: number, seed: number): number[] {
  const r = stream(seed);
  const u = Array.from({ length: d }, () => r() - 0.5);
  const w = Array.from({ length: d }, () => r() - 0.5);
  const nu = Math.hypot(...u);
  const unit = u.map((x) => x / nu);
  const dotw = w.reduce((s, x, i) => s + x * unit[i]!, 0);
  const w2 = w.map((x, i) => x - dotw * unit[i]!);
  const nw = Math.hypot(...w2);
  const unit2 = w2.map((x) => x / nw);
  return Array.from({ length: n }).flatMap(() => {
    const a = (r() * 2 - 1) * Math.sqrt(3) * 3;
    const b = (r() * 2 - 1) * Math.sqrt(3) * 1.5;
    return Array.from({ length: d }, (_, j) => 0.7 + a * unit[j]! + b * unit2[j]! + 0.1 * (r() - 0.5));
  });
}

describe('kiln.train.pca', () => {
  it.each([
    [120, 9],
    [30, 64], // fewer rows than columns: a rank-deficient covariance
  ])('matches the float64 reference on %i×%i fixed data (components, explained variance, coordinates)', (n, d) => {
    const x = fixed(n, d, n + d);
    const got = kiln.train.pca(Float32Array.from(x), n, d, 2);
    const ref = reference(Array.from(Float32Array.from(x)), n, d, 2);
    for (let c = 0; c < 2; c++) {
      const comp = Array.from(got.components.subarray(c * d, (c + 1) * d));
      expect(Math.hypot(...comp.map((v, j) => v - ref.vectors[c]![j]!))).toBeLessThan(1e-8);
      expect(Math.abs(got.explained[c]! - ref.values[c]! / ref.trace)).toBeLessThan(1e-10);
      for (let i = 0; i < n; i++) {
        const want = ref.centred[i]!.reduce((s, v, j) => s + v * ref.vectors[c]![j]!, 0);
        expect(Math.abs(got.coords[i * 2 + c]! - want)).toBeLessThan(1e-8 * Math.max(1, Math.abs(want)));
      }
    }
    // The data's two directions carry almost all the variance, the first four times the second.
    expect(got.explained[0]! + got.explained[1]!).toBeGreaterThan(0.99);
    expect(got.explained[0]! / got.explained[1]!).toBeGreaterThan(2.5);
  });

  it('handles identical rows (no variance) and refuses bad shapes', () => {
    const p = kiln.train.pca(new Float64Array(5 * 3).fill(2), 5, 3, 2);
    expect(p.explained).toEqual([0, 0]);
    expect([...p.coords].every((v) => v === 0)).toBe(true);
    expect(() => kiln.train.pca([1, 2, 3], 2, 2)).toThrow(/pca: x has 3 values, expected n·d = 2·2/);
    expect(() => kiln.train.pca([1, 2, 3, 4], 2, 2, 3)).toThrow(/pca: k must be an integer in \[1, d = 2\], got 3/);
  });
});
