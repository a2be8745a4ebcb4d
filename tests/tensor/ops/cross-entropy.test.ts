// Fused cross-entropy against a float64 reference (label smoothing, ignore_index, reductions, [N, C, d]
// logits), the unfused composition, and finite differences.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { randomArray, rng } from '../../helpers/random.js';

function refLosses(x: Float64Array, t: readonly number[], c: number, eps: number, ignore: number): number[] {
  return t.map((ti, i) => {
    if (ti === ignore) return 0;
    const row = Array.from(x.subarray(i * c, (i + 1) * c));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    return lse - (1 - eps) * row[ti]! - (eps / c) * row.reduce((a, v) => a + v, 0);
  });
}

// Losses are O(1): atol 1 floors the reference norm so a row whose loss is exactly 0 (C = 1) is held to
// an absolute error of rtol instead of a relative one.
describe('crossEntropy (fused)', () => {
  it('matches float64 with smoothing, ignore_index and each reduction; and the unfused composition', async () => {
    for (const [n, c] of [[1, 1], [7, 33], [130, 10]] as [number, number][]) {
      const r = rng(n * 31 + c);
      const xs = randomArray(n * c, n + c, 3);
      const ts = Array.from({ length: n }, (_, i) => (i % 5 === 3 ? -100 : Math.floor(r() * c)));
      const x = kiln.tensor(Float32Array.from(xs), { shape: [n, c] });
      const t = kiln.tensor(Int32Array.from(ts));
      for (const eps of [0, 0.1]) {
        const per = refLosses(xs, ts, c, eps, -100);
        const kept = ts.filter((v) => v !== -100).length;
        const mean = kept ? per.reduce((a, v) => a + v, 0) / kept : NaN;
        expect(await kiln.F.crossEntropy(x, t, { labelSmoothing: eps, reduction: 'none' }).data()).toBeAllClose(per, { rtol: 1e-6, atol: 1 });
        if (kept) {
          expect([await kiln.F.crossEntropy(x, t, { labelSmoothing: eps }).item()]).toBeAllClose([mean], { rtol: 1e-6, atol: 1 });
          expect([await kiln.F.crossEntropy(x, t, { labelSmoothing: eps, fused: false }).item()]).toBeAllClose([mean], { rtol: 1e-5, atol: 1 });
        }
        expect([await kiln.F.crossEntropy(x, t, { labelSmoothing: eps, reduction: 'sum' }).item()]).toBeAllClose([per.reduce((a, v) => a + v, 0)], { rtol: 1e-6, atol: 1 });
      }
    }
  });

  it('takes [N, C, d] logits with [N, d] targets (class axis 1, as PyTorch)', async () => {
    const xs = randomArray(2 * 4 * 3, 8);
    const ts = [0, 3, 1, 2, 2, 0];
    const x = kiln.tensor(Float32Array.from(xs), { shape: [2, 4, 3] });
    const t = kiln.tensor(Int32Array.from(ts), { shape: [2, 3] });
    // reference: row (n, k) takes logits x[n, :, k]
    const rows = new Float64Array(6 * 4);
    for (let nn = 0; nn < 2; nn++) for (let k = 0; k < 3; k++) for (let cc = 0; cc < 4; cc++) rows[(nn * 3 + k) * 4 + cc] = xs[(nn * 4 + cc) * 3 + k]!;
    expect(await kiln.F.crossEntropy(x, t, { reduction: 'none' }).data()).toBeAllClose(refLosses(rows, ts, 4, 0, -100), { rtol: 1e-6, atol: 1 });
  });

  it('backward against finite differences (with smoothing and an ignored row)', async () => {
    const t = kiln.tensor(Int32Array.from([2, -100, 0, 4]));
    await gradcheck((x) => kiln.F.crossEntropy(x, t, { labelSmoothing: 0.2 }), [{ shape: [4, 5] }]);
    const t2 = kiln.tensor(Int32Array.from(Array.from({ length: 33 }, (_, i) => i % 7)));
    await gradcheck((x) => kiln.F.crossEntropy(x, t2, { reduction: 'none' }), [{ shape: [33, 7] }], { mode: 'directions' });
  });

  it('leaves no tensor behind per call (mean over non-ignored targets)', async () => {
    const x = kiln.randn([6, 5]);
    const t = kiln.tensor(Int32Array.from([0, 1, -100, 3, 4, 2]));
    kiln.F.crossEntropy(x, t).dispose(); // warm-up
    await kiln.flush();
    const before = kiln.memory().liveTensors;
    for (let i = 0; i < 5; i++) kiln.F.crossEntropy(x, t).dispose();
    expect(kiln.memory().liveTensors).toBe(before);
    x.dispose();
    t.dispose();
  });

  it('refuses float targets and mismatched shapes', () => {
    expect(() => kiln.F.crossEntropy(kiln.ones([3, 4]), kiln.ones([3]))).toThrow(/crossEntropy: expected class-index targets of dtype i32/);
    expect(() => kiln.F.crossEntropy(kiln.ones([3, 4]), kiln.tensor(Int32Array.from([1, 2])))).toThrow(/crossEntropy: logits \[3,4\] and targets \[2\] do not match/);
  });
});
