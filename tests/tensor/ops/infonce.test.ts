// Fused softmax-InfoNCE (CLIP) loss against a float64 reference and the unfused composition, its backward
// against finite differences, custom labels, bit-exact determinism, and the no-N×N memory guarantee.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import type { Tensor } from '../../../src/node.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { randomArray } from '../../helpers/random.js';

/** ½·(mean_i CE(row i of s·a·bᵀ, l_i) + mean_j CE(row j of s·b·aᵀ, l_j)) in float64. */
function refLoss(a: Float64Array, b: Float64Array, n: number, d: number, s: number, labels?: readonly number[]): number {
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += a[i * d + k]! * b[j * d + k]!;
      z[i * n + j] = s * acc;
    }
  const ce = (at: (r: number, c: number) => number): number => {
    let total = 0;
    for (let r = 0; r < n; r++) {
      let m = -Infinity;
      for (let c = 0; c < n; c++) m = Math.max(m, at(r, c));
      let e = 0;
      for (let c = 0; c < n; c++) e += Math.exp(at(r, c) - m);
      total += m + Math.log(e) - at(r, labels?.[r] ?? r);
    }
    return total / n;
  };
  return 0.5 * (ce((r, c) => z[r * n + c]!) + ce((r, c) => z[c * n + r]!));
}

const t32 = (x: Float64Array, shape: number[], requiresGrad = false): Tensor => kiln.tensor(Float32Array.from(x), { shape, requiresGrad });

async function grads(n: number, d: number, seed: number, labels?: Tensor): Promise<Float32Array[]> {
  const a = t32(randomArray(n * d, seed), [n, d], true);
  const b = t32(randomArray(n * d, seed + 1), [n, d], true);
  const s = kiln.tensor(5, { requiresGrad: true });
  const loss = kiln.F.infoNCE(a, b, s, { labels });
  loss.backward();
  const out = [await a.grad!.data(), await b.grad!.data(), await s.grad!.data()];
  for (const t of [a, b, s, loss]) t.dispose();
  return out.map((x) => Float32Array.from(x));
}

describe('infoNCE (fused)', () => {
  it('matches float64 and the unfused composition', async () => {
    for (const [n, d] of [[1, 7], [3, 32], [130, 64], [130, 7]] as [number, number][]) {
      const av = randomArray(n * d, n + d, 0.3);
      const bv = randomArray(n * d, n * 3 + d, 0.3);
      const a = t32(av, [n, d]);
      const b = t32(bv, [n, d]);
      const s = kiln.tensor(14.3);
      const ref = refLoss(av, bv, n, d, 14.3);
      const fused = await kiln.F.infoNCE(a, b, s).item();
      const unfused = await kiln.F.infoNCE(a, b, s, { fused: false }).item();
      expect([fused], `n=${n} d=${d}`).toBeAllClose([ref], { rtol: 2e-5, atol: 1 });
      expect([unfused], `n=${n} d=${d}`).toBeAllClose([ref], { rtol: 2e-5, atol: 1 });
      const { loss, logits } = kiln.F.infoNCE(a, b, s, { returnLogits: true });
      expect([await loss.item()]).toBeAllClose([fused], { rtol: 1e-6, atol: 1 });
      expect(logits.shape).toEqual([n, n]);
      for (const x of [a, b, s, loss, logits]) x.dispose();
    }
  });

  it('takes custom labels (duplicates, a [1] logit scale) like the composition', async () => {
    const n = 9;
    const d = 12;
    const labels = [0, 0, 2, 3, 3, 3, 6, 8, 7];
    const av = randomArray(n * d, 5);
    const bv = randomArray(n * d, 6);
    const a = t32(av, [n, d]);
    const b = t32(bv, [n, d]);
    const s = kiln.tensor([2.5]);
    const l = kiln.tensor(Int32Array.from(labels));
    const ref = refLoss(av, bv, n, d, 2.5, labels);
    expect([await kiln.F.infoNCE(a, b, s, { labels: l }).item()]).toBeAllClose([ref], { rtol: 2e-5, atol: 1 });
    expect([await kiln.F.infoNCE(a, b, s, { labels: l, fused: false }).item()]).toBeAllClose([ref], { rtol: 2e-5, atol: 1 });
    await gradcheck((x, y, z) => kiln.F.infoNCE(x, y, z.reshape([1]), { labels: l }), [{ shape: [n, d] }, { shape: [n, d] }, { shape: [], data: [1.5] }], { mode: 'directions', directions: 4 });
  });

  it('backward against finite differences for a, b and the logit scale', async () => {
    await gradcheck((a, b, s) => kiln.F.infoNCE(a, b, s), [{ shape: [3, 5] }, { shape: [3, 5] }, { shape: [], data: [1.7] }], { mode: 'full' });
    await gradcheck((a, b, s) => kiln.F.infoNCE(a, b, s), [{ shape: [1, 4] }, { shape: [1, 4] }, { shape: [1], data: [2] }], { mode: 'full' });
    await gradcheck((a, b, s) => kiln.F.infoNCE(a, b, s.reshape([])), [{ shape: [70, 9] }, { shape: [70, 9] }, { shape: [1], data: [0.8] }], { mode: 'directions', directions: 4 });
  });

  it('backward matches the unfused composition', async () => {
    const n = 130;
    const d = 32;
    const run = async (fused: boolean): Promise<Float32Array[]> => {
      const a = t32(randomArray(n * d, 11, 0.3), [n, d], true);
      const b = t32(randomArray(n * d, 12, 0.3), [n, d], true);
      const s = kiln.tensor(10, { requiresGrad: true });
      kiln.F.infoNCE(a, b, s, { fused }).backward();
      return [Float32Array.from(await a.grad!.data()), Float32Array.from(await b.grad!.data()), Float32Array.from(await s.grad!.data())];
    };
    const f = await run(true);
    const u = await run(false);
    for (let k = 0; k < 3; k++) expect(f[k]!, `gradient ${k}`).toBeAllClose(u[k]!, { rtol: 1e-4 });
  });

  it('every tile variant (one-pass and plain) matches the unfused composition, forward and backward', async () => {
    const n = 70;
    const d = 36;
    // duplicate labels (i·7 mod 70 hits every seventh column ten times)
    const labels = kiln.tensor(Int32Array.from(Array.from({ length: n }, (_, i) => (i * 7) % n)));
    const run = async (fused: boolean, withLabels: boolean): Promise<Float32Array[]> => {
      const a = t32(randomArray(n * d, 31, 0.3), [n, d], true);
      const b = t32(randomArray(n * d, 32, 0.3), [n, d], true);
      const s = kiln.tensor(10, { requiresGrad: true });
      const loss = kiln.F.infoNCE(a, b, s, { fused, labels: withLabels ? labels : undefined });
      loss.backward();
      const out = [Float32Array.from(await loss.data()), Float32Array.from(await a.grad!.data()), Float32Array.from(await b.grad!.data()), Float32Array.from(await s.grad!.data())];
      for (const t of [a, b, s, loss]) t.dispose();
      return out;
    };
    const u = [await run(false, false), await run(false, true)];
    try {
      for (const tiles of ['8,4,8,sg', '8,4,16,sg', '8,1,16,sg,2', '8,2,8,sg,3', '8,1,8,sg,1', '8,3,8,sg,64', '16,4,4', '64,2,8', '16,1,16']) {
        process.env['KILN_INFONCE_TILES'] = tiles;
        for (const withLabels of [false, true]) {
          const f = await run(true, withLabels);
          for (let k = 0; k < 4; k++) expect(f[k]!, `${tiles}${withLabels ? ' labels' : ''}: ${k === 0 ? 'loss' : `gradient ${k - 1}`}`).toBeAllClose(u[+withLabels]![k]!, { rtol: 1e-4 });
        }
      }
    } finally {
      delete process.env['KILN_INFONCE_TILES'];
      labels.dispose();
    }
  });

  it('is deterministic: two backward passes are bit-equal', async () => {
    const l = kiln.tensor(Int32Array.from(Array.from({ length: 150 }, (_, i) => (i * 7) % 150)));
    const first = await grads(150, 40, 21, l);
    const second = await grads(150, 40, 21, l);
    for (let k = 0; k < 3; k++) expect(Buffer.from(second[k]!.buffer).equals(Buffer.from(first[k]!.buffer)), `gradient ${k}`).toBe(true);
  });

  /** forward + backward at N×64 with `largestBufferBytes` checked below N×N floats. */
  async function noSquareBuffer(n: number, checkScaleGrad: boolean): Promise<void> {
    const a = kiln.randn([n, 64], { requiresGrad: true });
    const b = kiln.randn([n, 64], { requiresGrad: true });
    const s = kiln.tensor(0.1, { requiresGrad: true });
    await kiln.flush();
    kiln.resetPeakMemory();
    const loss = kiln.F.infoNCE(a, b, s);
    loss.backward();
    expect(Number.isFinite(await loss.item())).toBe(true);
    if (checkScaleGrad) expect(Number.isFinite((await s.grad!.data())[0]!)).toBe(true);
    expect(kiln.memory().largestBufferBytes).toBeLessThan(n * n * 4);
    for (const t of [a, b, s, loss]) t.dispose();
  }

  it('allocates no N×N buffer at N = 4096 (forward + backward)', async () => {
    await noSquareBuffer(4096, true);
  });

  it.skipIf(process.env['KILN_TEST_FULL'] !== '1')('runs at N = 16384 without an N×N buffer (KILN_TEST_FULL=1)', async () => {
    await noSquareBuffer(16384, false);
  }, 1_200_000);

  it('takes f16 embeddings (f32 loss, f16 gradients)', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    const n = 20;
    const d = 6;
    const av = randomArray(n * d, 31, 0.5);
    const bv = randomArray(n * d, 32, 0.5);
    const a = t32(av, [n, d]).half().requiresGrad_(true);
    const b = t32(bv, [n, d]).half().requiresGrad_(true);
    const a64 = Float64Array.from(await a.float().data());
    const b64 = Float64Array.from(await b.float().data());
    const loss = kiln.F.infoNCE(a, b, kiln.tensor(3));
    expect(loss.dtype).toBe('f32');
    expect([await loss.item()]).toBeAllClose([refLoss(a64, b64, n, d, 3)], { rtol: 1e-5, atol: 1 });
    loss.backward();
    expect(a.grad!.dtype).toBe('f16');
    expect(b.grad!.shape).toEqual([n, d]);
  });

  it('refuses mismatched shapes and a non-scalar logit scale', () => {
    expect(() => kiln.F.infoNCE(kiln.ones([3, 4]), kiln.ones([2, 4]), kiln.tensor(1))).toThrow(/infoNCE: expected embeddings a and b of the same shape/);
    expect(() => kiln.F.infoNCE(kiln.ones([3, 4]), kiln.ones([3, 4]), kiln.ones([2]))).toThrow(/logitScale must be a floating point scalar/);
    expect(() => kiln.F.infoNCE(kiln.ones([3, 4]), kiln.ones([3, 4]), kiln.tensor(1), { labels: kiln.tensor(Int32Array.from([0, 1])) })).toThrow(/labels must be i32 of shape \[3\]/);
  });
});
