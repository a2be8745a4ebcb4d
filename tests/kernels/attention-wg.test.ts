// The flash-attention kernels with tiles in workgroup memory (the GPU-class variant), forced on the software
// adapter: forward and backward against a float64 reference on odd sizes (several query and key tiles, a
// head dim that is not a multiple of 4, causal), and bit-equal to the plain kernels with masks, bias-kv and
// dropout or causal (they perform the same operations in the same order, partly through shared functions).
import { afterEach, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { type AttentionConfig, attentionConfig, attentionKernels, setAttentionConfig } from '../../src/kernels/attention.js';
import { currentAdapterClass } from '../../src/kernels/adapter-class.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

const SHARED: AttentionConfig = { wg: 16, bk: 16, shared: true };

afterEach(() => setAttentionConfig(null));

const add = (a: Float64Array, i: number, x: number): void => {
  a[i] = a[i]! + x;
};

/** Float64 attention for one set of [B, H, L, D] inputs: out, and dq, dk, dv for the output gradient g. */
function reference(q: Float64Array, k: Float64Array, v: Float64Array, g: Float64Array, [B, H, Lq, Lk, D]: readonly number[], causal: boolean): Float64Array[] {
  const scale = 1 / Math.sqrt(D!);
  const out = new Float64Array(B! * H! * Lq! * D!);
  const dq = new Float64Array(out.length);
  const dk = new Float64Array(B! * H! * Lk! * D!);
  const dv = new Float64Array(dk.length);
  for (let bh = 0; bh < B! * H!; bh++) {
    const [qo, ko] = [bh * Lq! * D!, bh * Lk! * D!];
    for (let i = 0; i < Lq!; i++) {
      const p = new Float64Array(Lk!);
      let m = -Infinity;
      for (let j = 0; j < Lk!; j++) {
        let s = 0;
        for (let d = 0; d < D!; d++) s += q[qo + i * D! + d]! * k[ko + j * D! + d]!;
        p[j] = causal && j > i ? -Infinity : s * scale;
        m = Math.max(m, p[j]!);
      }
      let sum = 0;
      for (let j = 0; j < Lk!; j++) sum += (p[j] = Math.exp(p[j]! - m));
      const dp = new Float64Array(Lk!);
      let delta = 0;
      for (let j = 0; j < Lk!; j++) {
        p[j] = p[j]! / sum;
        for (let d = 0; d < D!; d++) {
          add(out, qo + i * D! + d, p[j]! * v[ko + j * D! + d]!);
          add(dp, j, g[qo + i * D! + d]! * v[ko + j * D! + d]!);
          add(dv, ko + j * D! + d, p[j]! * g[qo + i * D! + d]!); // dV = Pᵀ·dO
        }
        delta += p[j]! * dp[j]!;
      }
      for (let j = 0; j < Lk!; j++) {
        const ds = p[j]! * (dp[j]! - delta) * scale; // dS = P∘(dP − Σ P∘dP)
        for (let d = 0; d < D!; d++) {
          add(dq, qo + i * D! + d, ds * k[ko + j * D! + d]!);
          add(dk, ko + j * D! + d, ds * q[qo + i * D! + d]!);
        }
      }
    }
  }
  return [out, dq, dk, dv];
}

const f32 = (v: Float64Array, shape: number[]): Tensor => kiln.tensor(Float32Array.from(v), { shape });

describe('flash attention with tiles in workgroup memory', () => {
  it('is chosen when forced and runs here (the software adapter has 32 KiB of workgroup storage)', () => {
    setAttentionConfig(SHARED);
    expect(attentionConfig()).toEqual(SHARED);
    expect(attentionKernels(SHARED, currentAdapterClass())).toBe('shared');
    expect(() => setAttentionConfig({ wg: 16, bk: 40, shared: true })).toThrow(/bk must be in 1\.\.32/);
  });

  // f32 with sums over ≤ 41 keys of O(1) terms: norm-wise error ~1e-6.
  it('forward and backward vs float64 on odd sizes, causal and not (rtol 1e-4)', async () => {
    setAttentionConfig(SHARED);
    let seed = TEST_SEED;
    for (const [dims, causal] of [[[2, 1, 37, 41, 13], false], [[1, 2, 35, 35, 32], true]] as const) {
      const [B, H, Lq, Lk, D] = dims;
      const qv = randomArray(B * H * Lq * D, seed++).map(Math.fround);
      const kv = randomArray(B * H * Lk * D, seed++).map(Math.fround);
      const vv = randomArray(B * H * Lk * D, seed++).map(Math.fround);
      const gv = randomArray(B * H * Lq * D, seed++).map(Math.fround);
      const q = f32(qv, [B, H, Lq, D]).requiresGrad_(true);
      const k = f32(kv, [B, H, Lk, D]).requiresGrad_(true);
      const v = f32(vv, [B, H, Lk, D]).requiresGrad_(true);
      const y = kiln.F.scaledDotProductAttention(q, k, v, { causal });
      y.backward(f32(gv, [B, H, Lq, D]));
      const ref = reference(qv, kv, vv, gv, dims, causal);
      const got = [await y.data(), await q.grad!.data(), await k.grad!.data(), await v.grad!.data()];
      got.forEach((x, i) => expect(x, `${JSON.stringify(dims)} causal ${causal}: ${['out', 'dq', 'dk', 'dv'][i]} seed ${TEST_SEED}`).toBeAllClose(ref[i]!, { rtol: 1e-4 }));
      for (const t of [q, k, v, y]) t.dispose();
    }
  });

  // The plain and workgroup-memory kernels share their bias-kv and key-row code (attention_common.wgsl,
  // attention_grad_common.wgsl); the register kernels keep the plain order too. Guards that folding.
  it('is bit-equal to the plain kernels (and so are the register kernels) with a mask, bias-kv and dropout, or causal', async () => {
    const [B, H, Lq, Lk, D] = [2, 2, 19, 23, 20];
    const mk = (n: number, seed: number, shape: number[]): Tensor => f32(randomArray(n, seed), shape).requiresGrad_(true);
    const q = mk(B * H * Lq * D, 1, [B, H, Lq, D]);
    const k = mk(B * H * Lk * D, 2, [B, H, Lk, D]);
    const v = mk(B * H * Lk * D, 3, [B, H, Lk, D]);
    const biasK = mk(H * D, 4, [H, D]);
    const biasV = mk(H * D, 5, [H, D]);
    const mask = kiln.tensor(Float32Array.from(randomArray(Lq * Lk, 6)), { shape: [1, 1, Lq, Lk] });
    const gy = f32(randomArray(B * H * Lq * D, 7), [B, H, Lq, D]);
    const run = async (c: AttentionConfig, causal: boolean): Promise<Float32Array[]> => {
      setAttentionConfig(c);
      kiln.manualSeed(11);
      for (const t of [q, k, v, biasK, biasV]) t.grad = null;
      const y = kiln.F.scaledDotProductAttention(q, k, v, causal ? { causal, biasK, biasV } : { mask, biasK, biasV, dropout: 0.2 });
      y.backward(gy);
      const out = [await y.data(), ...(await Promise.all([q, k, v, biasK, biasV].map((t) => t.grad!.data())))];
      y.dispose();
      return out.map((x) => Float32Array.from(x));
    };
    for (const causal of [false, true]) {
      // other tile sizes compile six more pipelines (seconds each): KILN_TEST_FULL=1 only
      for (const [wg, bk] of process.env['KILN_TEST_FULL'] === '1' ? ([[16, 16], [8, 8]] as const) : ([[16, 16]] as const)) {
        const plain = await run({ wg, bk, sg: 'none' }, causal);
        for (const c of [{ wg, bk, shared: true }, ...(wg === 16 ? [{ wg, bk, sg: 'reg' as const }] : [])]) {
          const got = await run(c, causal);
          got.forEach((x, i) => expect(x, `${JSON.stringify(c)} causal ${causal}: ${i === 0 ? 'output' : `grad ${i - 1}`}`).toEqual(plain[i]));
        }
      }
    }
    for (const t of [q, k, v, biasK, biasV, mask, gy]) t.dispose();
  });
});
