// kiln.nn.utils.clipGradNorm_ / getTotalNorm / clipGradsWithNorm_ against float64 references of torch's
// (L2, L1, L∞, p = 3), over gradients that span several reduction chunks, a strided one and parameters
// without gradients; no submit (hence no readback) during a call; a non-finite norm raising the GPU flag.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

async function bits(t: kiln.Tensor): Promise<Uint32Array> {
  const d = await t.data();
  return new Uint32Array(d.buffer, d.byteOffset, d.length);
}

function refNorm(gs: readonly Float64Array[], p: number): number {
  const all = gs.flatMap((g) => Array.from(g, Math.abs));
  if (p === Infinity) return Math.max(...all);
  return all.reduce((s, x) => s + x ** p, 0) ** (1 / p);
}

describe('clipGradNorm_', () => {
  const seed = TEST_SEED;
  // 9000 and 12289 elements take 3 and 4 chunks of 4096; the [12, 5] gradient is set as a transposed view.
  const sizes = [9000, 300, 7, 12289, 60];

  function setup(scale: number): { params: kiln.Tensor[]; ref: Float64Array[] } {
    const ref = sizes.map((n, i) => Float64Array.from(Float32Array.from(randomArray(n, seed + i, scale))));
    const params = sizes.map((n, i) => kiln.zeros(i === 4 ? [12, 5] : [n], { requiresGrad: true }));
    params.forEach((p, i) => {
      const g = Float32Array.from(ref[i]!);
      // [12, 5] as the transpose of a contiguous [5, 12]: same values, strided.
      const gT = Float32Array.from({ length: 60 }, (_, k) => g[(k % 12) * 5 + Math.floor(k / 12)]!);
      p.grad = i === 4 ? kiln.tensor(gT, { shape: [5, 12] }).t() : kiln.tensor(g);
    });
    params.push(kiln.zeros([3], { requiresGrad: true })); // no gradient: skipped
    return { params, ref };
  }

  for (const normType of [2, 1, Infinity, 3])
    it(`normType ${normType}: total norm and clipped gradients match float64 (seed ${seed}), with no submit`, async () => {
      const { params, ref } = setup(0.5);
      const expected = refNorm(ref, normType);
      const maxNorm = expected / 3;
      await kiln.flush();
      const submits = kiln.stats().submits;
    const readbacks = kiln.stats().readbacks;
      const norm = kiln.nn.utils.clipGradNorm_(params, maxNorm, { normType });
      expect(kiln.stats().submits).toBe(submits);
    expect(kiln.stats().readbacks).toBe(readbacks);
      expect([norm.shape, norm.dtype]).toEqual([[], 'f32']);
      expect([await norm.item()]).toBeAllClose([expected], { rtol: 2e-6 });
      const coef = Math.min(1, maxNorm / (expected + 1e-6));
      for (const [i, g] of ref.entries()) expect(await params[i]!.grad!.data()).toBeAllClose(Array.from(g, (x) => x * coef), { rtol: 2e-6 });
      for (const p of params) p.dispose();
      norm.dispose();
    });

  it('below maxNorm the gradients are bitwise unchanged, and the norm is reproducible bit for bit', async () => {
    const { params } = setup(1);
    const before = await Promise.all(params.slice(0, sizes.length).map((p) => bits(p.grad!)));
    const n1 = kiln.nn.utils.clipGradNorm_(params, 1e6);
    const n2 = kiln.nn.utils.clipGradNorm_(params, 1e6);
    expect(await bits(n2)).toEqual(await bits(n1));
    for (const [i, b] of before.entries()) expect(await bits(params[i]!.grad!)).toEqual(b);
    for (const t of [...params, n1, n2]) t.dispose();
  });

  it('getTotalNorm of a subset (a tower) and clipGradsWithNorm_ with a given norm match float64', async () => {
    const { params, ref } = setup(0.5);
    await kiln.flush();
    const submits = kiln.stats().submits;
    const readbacks = kiln.stats().readbacks;
    const tower = kiln.nn.utils.getTotalNorm([params[1]!.grad, null, params[3]!.grad], { normType: 3 });
    const norm = kiln.tensor([0.25]);
    kiln.nn.utils.clipGradsWithNorm_(params, 0.1, norm);
    expect(kiln.stats().submits).toBe(submits);
    expect(kiln.stats().readbacks).toBe(readbacks);
    expect([await tower.item()]).toBeAllClose([refNorm([ref[1]!, ref[3]!], 3)], { rtol: 2e-6 });
    const coef = Math.fround(0.1) / (Math.fround(0.25) + 1e-6);
    for (const [i, g] of ref.entries()) expect(await params[i]!.grad!.data()).toBeAllClose(Array.from(g, (x) => x * coef), { rtol: 1e-6 });
    for (const t of [...params, tower, norm]) t.dispose();
  });

  it('a non-finite norm raises foundInf on the GPU; no gradients gives a zero norm', async () => {
    for (const bad of [Infinity, NaN]) {
      const p = kiln.zeros([5], { requiresGrad: true });
      p.grad = kiln.tensor([1, 2, bad, 3, 4]);
      const flag = kiln.zeros([]);
      const norm = kiln.nn.utils.clipGradNorm_([p], 1, { foundInf: flag });
      expect(await flag.item(), String(bad)).toBe(1);
      expect(await norm.item()).toBe(bad);
      for (const t of [p, flag, norm]) t.dispose();
    }
    const p = kiln.ones([5], { requiresGrad: true });
    p.grad = kiln.ones([5]);
    const flag = kiln.zeros([]);
    const norm = kiln.nn.utils.clipGradNorm_(p, 1, { foundInf: flag });
    expect(await flag.item()).toBe(0);
    expect(await norm.item()).toBe(Math.fround(Math.sqrt(5)));
    const none = kiln.nn.utils.clipGradNorm_([kiln.zeros([2], { requiresGrad: true })], 1);
    expect(await none.item()).toBe(0);
    for (const t of [p, flag, norm, none]) t.dispose();
  });

  it('clips f16 gradients', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    const p = kiln.zeros([2], { requiresGrad: true, dtype: 'f16' });
    p.grad = kiln.tensor([3, 4], { dtype: 'f16' });
    const norm = kiln.nn.utils.clipGradNorm_([p], 1);
    expect(await norm.item()).toBe(5);
    expect([...(await p.grad.data())]).toBeAllClose([0.6, 0.8], { rtol: 1e-3 });
    p.dispose();
    norm.dispose();
  });

  it('bad arguments name the function and the value', () => {
    const p = kiln.zeros([2], { requiresGrad: true });
    expect(() => kiln.nn.utils.clipGradNorm_([p], 1, { normType: 0 })).toThrow('clipGradNorm_: normType must be a positive number or Infinity, got 0');
    expect(() => kiln.nn.utils.clipGradNorm_([p], NaN)).toThrow('clipGradNorm_: maxNorm must be a number, got NaN');
    expect(() => kiln.nn.utils.clipGradNorm_([p], 1, { errorIfNonfinite: true })).toThrow(/clipGradNorm_: errorIfNonfinite: true would need a readback/);
    (p as kiln.Tensor).grad = kiln.zeros([2], { dtype: 'i32' });
    kiln.tidy(() => {
      expect(() => kiln.nn.utils.clipGradNorm_([kiln.zeros([1]), p], 1)).toThrow('clipGradNorm_: the gradient of params[1] is i32, expected f32 or f16');
      expect(() => kiln.nn.utils.getTotalNorm([null, p.grad])).toThrow('getTotalNorm: tensors[1] is i32, expected f32 or f16');
      expect(() => kiln.nn.utils.clipGradsWithNorm_([p], 1, kiln.zeros([3]))).toThrow('clipGradsWithNorm_: totalNorm: expected a one-element f32 tensor, got shape [3] f32');
    });
    p.dispose();
  });
});
