// The step monitor between backward and the optimizer step: per-tower and global gradient norms against a
// float64 reference, clipping to the global norm, the non-finite flag, and the ring read back once.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { randomArray } from '../helpers/random.js';

function param(n: number, seed: number): { p: kiln.Tensor; g: Float64Array } {
  const p = kiln.zeros([n]).requiresGrad_(true);
  const g = randomArray(n, seed);
  p.grad = kiln.tensor(Float32Array.from(g));
  return { p, g };
}
const norm = (...gs: Float64Array[]): number => Math.sqrt(gs.reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));

describe('StepMonitor', () => {
  it('logs per-tower and global norms before clipping, clips to maxNorm, and raises the flag only when non-finite', async () => {
    const a = param(37, 1);
    const b = param(5, 2);
    const c = param(11, 3);
    const mon = new kiln.train.StepMonitor(3, ['x-y'], [{ name: 'x', params: [a.p, b.p] }, { name: 'y', params: [c.p] }], 1);
    const flag = kiln.zeros([]);
    mon.afterBackward(kiln.full([], 2.5), [kiln.full([], 2.5)], flag);
    expect(await flag.item()).toBe(0);
    const clipped = norm(Float64Array.from(await a.p.grad!.data()), Float64Array.from(await b.p.grad!.data()), Float64Array.from(await c.p.grad!.data()));
    expect(Math.abs(clipped - 1)).toBeLessThan(1e-5);
    mon.afterBackward(kiln.full([], NaN), [kiln.full([], NaN)], flag);
    expect(await flag.item()).toBe(1);
    mon.afterBackward(kiln.full([], 1), [kiln.full([], 1)], flag); // finite, but raised before (a loss scaler): stays raised
    expect(await flag.item()).toBe(1);
    const rows = await mon.read();
    expect(rows).toHaveLength(3);
    const r = rows[0]!;
    expect(r['loss']).toBe(2.5);
    expect(Math.abs(r['gradNorm:x']! - norm(a.g, b.g)) / norm(a.g, b.g)).toBeLessThan(1e-6);
    expect(Math.abs(r['gradNorm:y']! - norm(c.g)) / norm(c.g)).toBeLessThan(1e-6);
    expect(Math.abs(r['gradNorm']! - norm(a.g, b.g, c.g)) / norm(a.g, b.g, c.g)).toBeLessThan(1e-6);
    expect(rows.map((x) => x['nonFinite'])).toEqual([0, 1, 1]);
    expect(await mon.read()).toEqual([]);
  });
});
