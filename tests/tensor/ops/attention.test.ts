// Fused scaled-dot-product attention (flash forward and backward) against a float64 reference, the unfused
// composition and finite differences; determinism, memory, and MultiheadAttention against PyTorch's MHA math.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import type { Tensor } from '../../../src/node.js';
import { setAttentionConfig } from '../../../src/kernels/attention.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { randomArray, rng } from '../../helpers/random.js';

interface RefMask {
  readonly data: Float64Array | boolean[];
  /** Broadcastable to [B, H, Lq, Lk], 4-D (size-1 axes broadcast). */
  readonly shape: readonly [number, number, number, number];
}

interface RefOptions {
  readonly mask?: RefMask;
  readonly causal?: boolean;
  readonly scale?: number;
  readonly biasK?: Float64Array;
  readonly biasV?: Float64Array;
}

/** softmax(q·kᵀ·scale + mask)·v in float64, with the bias-kv token as an extra, never-masked key. */
function refAttention(q: Float64Array, k: Float64Array, v: Float64Array, [B, H, Lq, Lk, D]: readonly number[], o: RefOptions = {}): Float64Array {
  const scale = o.scale ?? 1 / Math.sqrt(D!);
  const out = new Float64Array(B! * H! * Lq! * D!);
  const nk = Lk! + (o.biasK ? 1 : 0);
  for (let b = 0; b < B!; b++)
    for (let h = 0; h < H!; h++)
      for (let i = 0; i < Lq!; i++) {
        const qb = ((b * H! + h) * Lq! + i) * D!;
        const s = new Float64Array(nk);
        for (let j = 0; j < nk; j++) {
          const isBias = j === Lk;
          const kb = isBias ? h * D! : ((b * H! + h) * Lk! + j) * D!;
          const kk = isBias ? o.biasK! : k;
          let dot = 0;
          for (let d = 0; d < D!; d++) dot += q[qb + d]! * kk[kb + d]!;
          s[j] = dot * scale;
          if (isBias) continue;
          if (o.mask) {
            const [mb, mh, mq, mk] = o.mask.shape;
            const idx = (((mb === 1 ? 0 : b) * mh + (mh === 1 ? 0 : h)) * mq + (mq === 1 ? 0 : i)) * mk + (mk === 1 ? 0 : j);
            const mv = o.mask.data[idx]!;
            if (typeof mv === 'boolean') s[j] = mv ? s[j]! : -Infinity;
            else s[j] = s[j]! + mv;
          }
          if (o.causal && j > i) s[j] = -Infinity;
        }
        let m = -Infinity;
        for (const x of s) m = Math.max(m, x);
        let sum = 0;
        for (let j = 0; j < nk; j++) sum += (s[j] = Math.exp(s[j]! - m));
        for (let j = 0; j < nk; j++) {
          const isBias = j === Lk;
          const vb = isBias ? h * D! : ((b * H! + h) * Lk! + j) * D!;
          const vv = isBias ? o.biasV! : v;
          for (let d = 0; d < D!; d++) out[qb + d] = out[qb + d]! + (s[j]! / sum) * vv[vb + d]!;
        }
      }
  return out;
}

const t32 = (x: Float64Array, shape: readonly number[]): Tensor => kiln.tensor(Float32Array.from(x), { shape });

describe('scaledDotProductAttention (fused)', () => {
  it('forward against float64 and the unfused composition: lengths 1..257, head dims 32, 64, 80', async () => {
    const cases: [number, number, number, number, number][] = [
      [1, 2, 1, 1, 32],
      [2, 1, 7, 7, 64],
      [1, 2, 77, 77, 80],
      [1, 2, 197, 197, 64],
      [1, 1, 229, 229, 32],
      [1, 1, 257, 257, 80],
      [2, 1, 7, 33, 20],
    ];
    let seed = 1;
    for (const [B, H, Lq, Lk, D] of cases) {
      const qd = randomArray(B * H * Lq * D, seed++);
      const kd = randomArray(B * H * Lk * D, seed++);
      const vd = randomArray(B * H * Lk * D, seed++);
      const q = t32(qd, [B, H, Lq, D]);
      const k = t32(kd, [B, H, Lk, D]);
      const v = t32(vd, [B, H, Lk, D]);
      const y = kiln.F.scaledDotProductAttention(q, k, v);
      const ref = refAttention(qd, kd, vd, [B, H, Lq, Lk, D]);
      expect(await y.data(), `B${B} H${H} Lq${Lq} Lk${Lk} D${D}`).toBeAllClose(ref, { rtol: 2e-5 });
      const u = kiln.F.scaledDotProductAttention(q, k, v, { fused: false });
      expect(await y.data()).toBeAllClose(await u.data(), { rtol: 2e-5 });
      for (const x of [q, k, v, y, u]) x.dispose();
    }
  });

  it('masks: additive causal [L, L], boolean key padding [B, 1, 1, Lk], causal flag, bias-kv, custom scale', async () => {
    const [B, H, L, D] = [2, 2, 37, 32];
    const qd = randomArray(B * H * L * D, 41);
    const kd = randomArray(B * H * L * D, 42);
    const vd = randomArray(B * H * L * D, 43);
    const bkd = randomArray(H * D, 44);
    const bvd = randomArray(H * D, 45);
    const q = t32(qd, [B, H, L, D]);
    const k = t32(kd, [B, H, L, D]);
    const v = t32(vd, [B, H, L, D]);
    const biasK = t32(bkd, [H, D]);
    const biasV = t32(bvd, [H, D]);
    const causal = new Float64Array(L * L).map((_, e) => (e % L > Math.floor(e / L) ? -Infinity : 0));
    const r = rng(7);
    const pad = Array.from({ length: B * L }, (_, e) => e % L < L - 5 * (Math.floor(e / L) + 1) || r() < 0.3);
    const additive = t32(causal, [L, L]);
    const padMask = kiln.tensor(pad, { shape: [B, 1, 1, L], dtype: 'bool' });
    const shape = [B, H, L, L, D];
    const cases: [string, kiln.nn.functional.AttentionOptions, RefOptions][] = [
      ['additive causal', { mask: additive }, { mask: { data: causal, shape: [1, 1, L, L] } }],
      ['key padding', { mask: padMask }, { mask: { data: pad, shape: [B, 1, 1, L] } }],
      ['causal flag', { causal: true }, { causal: true }],
      ['bias-kv + key padding', { mask: padMask, biasK, biasV }, { mask: { data: pad, shape: [B, 1, 1, L] }, biasK: bkd, biasV: bvd }],
      ['bias-kv + causal + scale', { causal: true, biasK, biasV, scale: 0.3 }, { causal: true, biasK: bkd, biasV: bvd, scale: 0.3 }],
    ];
    for (const [name, opts, refOpts] of cases) {
      const y = kiln.F.scaledDotProductAttention(q, k, v, opts);
      const u = kiln.F.scaledDotProductAttention(q, k, v, { ...opts, fused: false });
      const ref = refAttention(qd, kd, vd, shape, refOpts);
      expect(await y.data(), name).toBeAllClose(ref, { rtol: 2e-5 });
      expect(await u.data(), `${name} (unfused)`).toBeAllClose(ref, { rtol: 2e-5 });
      y.dispose();
      u.dispose();
    }
  });

  it('reads strided q, k, v (transposed heads) and 3-D inputs without a copy', async () => {
    const [B, L, H, D] = [2, 9, 3, 32];
    const x = kiln.randn([B, L, 3, H, D]);
    const [q, k, v] = [0, 1, 2].map((i) => x.select(2, i).permute([0, 2, 1, 3])) as [Tensor, Tensor, Tensor];
    const y = kiln.F.scaledDotProductAttention(q, k, v);
    const ref = kiln.F.scaledDotProductAttention(q.contiguous(), k.contiguous(), v.contiguous(), { fused: false });
    expect(await y.data()).toBeAllClose(await ref.data(), { rtol: 2e-5 });
    const y3 = kiln.F.scaledDotProductAttention(q.reshape([B * H, L, D]), k.reshape([B * H, L, D]), v.reshape([B * H, L, D]));
    expect(y3.shape).toEqual([B * H, L, D]);
    expect(await y3.data()).toBeAllClose(await ref.data(), { rtol: 2e-5 });
  });

  it('backward: full finite differences on tiny inputs for q, k, v, biasK, biasV', async () => {
    const f = (q: Tensor, k: Tensor, v: Tensor, bk: Tensor, bv: Tensor): Tensor => kiln.F.scaledDotProductAttention(q, k, v, { biasK: bk, biasV: bv, causal: true });
    await gradcheck(f, [{ shape: [1, 2, 3, 4] }, { shape: [1, 2, 3, 4] }, { shape: [1, 2, 3, 4] }, { shape: [2, 4] }, { shape: [2, 4] }], { mode: 'full' });
    await gradcheck((q: Tensor, k: Tensor, v: Tensor) => kiln.F.scaledDotProductAttention(q, k, v), [{ shape: [2, 1, 1, 5] }, { shape: [2, 1, 4, 5] }, { shape: [2, 1, 4, 5] }], { mode: 'full' });
  });

  it('backward: directions at lengths 1, 7, 77, 197 and head dims 32, 64, 80, with masks and bias-kv', async () => {
    // [B, H, Lq, Lk, D]; Lq = Lk = 1 would make dq exactly 0 (one key), so length 1 is a single query over 7 keys
    const cases: [number, number, number, number, number, kiln.nn.functional.AttentionOptions][] = [
      [1, 1, 1, 7, 32, {}],
      [2, 1, 7, 7, 64, { causal: true }],
      [1, 2, 77, 77, 80, {}],
      [1, 2, 197, 197, 64, {}],
    ];
    for (const [B, H, Lq, Lk, D, opts] of cases) {
      const sq = [B, H, Lq, D];
      const sk = [B, H, Lk, D];
      await gradcheck((q: Tensor, k: Tensor, v: Tensor) => kiln.F.scaledDotProductAttention(q, k, v, opts), [{ shape: sq }, { shape: sk }, { shape: sk }], { mode: 'directions', directions: 2, rtol: 3e-2 });
    }
    const [B, H, L, D] = [2, 2, 23, 32];
    const pad = kiln.tensor(Array.from({ length: B * L }, (_, e) => e % L < L - 4 * (Math.floor(e / L) + 1)), { shape: [B, 1, 1, L], dtype: 'bool' });
    const s = [B, H, L, D];
    const f = (q: Tensor, k: Tensor, v: Tensor, bk: Tensor, bv: Tensor): Tensor => kiln.F.scaledDotProductAttention(q, k, v, { mask: pad, biasK: bk, biasV: bv });
    await gradcheck(f, [{ shape: s }, { shape: s }, { shape: s }, { shape: [H, D] }, { shape: [H, D] }], { mode: 'directions', directions: 2, rtol: 3e-2 });
  });

  it('backward matches the unfused composition and is bit-identical when run twice', async () => {
    const [B, H, L, D] = [1, 2, 77, 64];
    const mk = (seed: number): Tensor => kiln.tensor(Float32Array.from(randomArray(B * H * L * D, seed)), { shape: [B, H, L, D], requiresGrad: true });
    const [q, k, v] = [mk(1), mk(2), mk(3)];
    const bk = kiln.tensor(Float32Array.from(randomArray(H * D, 4)), { shape: [H, D], requiresGrad: true });
    const bv = kiln.tensor(Float32Array.from(randomArray(H * D, 5)), { shape: [H, D], requiresGrad: true });
    const gy = kiln.tensor(Float32Array.from(randomArray(B * H * L * D, 6)), { shape: [B, H, L, D] });
    const grads = async (fused: boolean): Promise<Awaited<ReturnType<Tensor['data']>>[]> => {
      for (const t of [q, k, v, bk, bv]) t.grad = null;
      const y = kiln.F.scaledDotProductAttention(q, k, v, { causal: true, biasK: bk, biasV: bv, fused });
      y.backward(gy);
      return Promise.all([q, k, v, bk, bv].map((t) => t.grad!.data()));
    };
    const a = await grads(true);
    const b = await grads(true);
    const u = await grads(false);
    a.forEach((g, i) => {
      expect(Buffer.from(g.buffer).equals(Buffer.from(b[i]!.buffer)), `grad ${i} bit-identical`).toBe(true);
      expect(g, `grad ${i} vs unfused`).toBeAllClose(u[i]!, { rtol: 1e-4 });
    });
  });

  it('dropout: the fused kernel draws the same mask as the unfused composition, regenerated in backward', async () => {
    const [B, H, L, D] = [1, 2, 19, 32];
    const mk = (seed: number): Tensor => t32(randomArray(B * H * L * D, seed), [B, H, L, D]);
    const [q, k, v] = [mk(11), mk(12), mk(13)];
    const state = kiln.getRngState();
    const y = kiln.F.scaledDotProductAttention(q, k, v, { dropout: 0.3 });
    kiln.setRngState(state);
    const u = kiln.F.scaledDotProductAttention(q, k, v, { dropout: 0.3, fused: false });
    expect(await y.data()).toBeAllClose(await u.data(), { rtol: 2e-5 });
    const f = (a: Tensor, b: Tensor, c: Tensor): Tensor => {
      kiln.setRngState(state);
      return kiln.F.scaledDotProductAttention(a, b, c, { dropout: 0.3, causal: true });
    };
    const s = [B, H, L, D];
    await gradcheck(f, [{ shape: s }, { shape: s }, { shape: s }], { mode: 'directions', directions: 2, rtol: 3e-2 });
  });

  it('every kernel variant (register, plain) matches the unfused composition, forward and backward', async () => {
    // head dims 20, 32, 80 cover a half block of 8 vec4s, whole blocks and padding past the head dim
    const cases: [number, number, number, number, number, kiln.nn.functional.AttentionOptions][] = [
      [2, 1, 9, 13, 20, {}],
      [1, 2, 37, 37, 32, { causal: true }],
      [1, 1, 41, 41, 80, { scale: 0.3 }],
    ];
    try {
      // each (kernel, WG, D4) is its own pipeline, compiled once (Mesa caches it on disk)
      for (const [sg, wg] of [['reg', 16], ['reg', 8], ['none', 16]] as const) {
        {
          setAttentionConfig({ wg, bk: 16, sg });
          let seed = 100;
          for (const [B, H, Lq, Lk, D, opts] of cases) {
            const mk = (L: number): Tensor => t32(randomArray(B * H * L * D, seed++), [B, H, L, D]).requiresGrad_(true);
            const [q, k, v] = [mk(Lq), mk(Lk), mk(Lk)];
            const bk = t32(randomArray(H * D, seed++), [H, D]).requiresGrad_(true);
            const bv = t32(randomArray(H * D, seed++), [H, D]).requiresGrad_(true);
            const gy = t32(randomArray(B * H * Lq * D, seed++), [B, H, Lq, D]);
            const run = async (fused: boolean): Promise<Float32Array[]> => {
              for (const t of [q, k, v, bk, bv]) t.grad = null;
              const y = kiln.F.scaledDotProductAttention(q, k, v, { ...opts, biasK: bk, biasV: bv, fused });
              y.backward(gy);
              const out = [await y.data(), ...(await Promise.all([q, k, v, bk, bv].map((t) => t.grad!.data())))];
              y.dispose();
              return out.map((x) => Float32Array.from(x));
            };
            const f = await run(true);
            const u = await run(false);
            f.forEach((x, i) => expect(x, `${sg} wg ${wg} D ${D}: ${i === 0 ? 'output' : `grad ${i - 1}`}`).toBeAllClose(u[i]!, { rtol: 1e-4 }));
            for (const t of [q, k, v, bk, bv, gy]) t.dispose();
          }
        }
      }
    } finally {
      setAttentionConfig(null);
    }
  });

  it('allocates no L×L buffer at L = 1024 (forward + backward)', async () => {
    const [B, H, L, D] = [1, 2, 1024, 64];
    const mk = (): Tensor => kiln.randn([B, H, L, D], { requiresGrad: true });
    const [q, k, v] = [mk(), mk(), mk()];
    await kiln.flush();
    kiln.resetPeakMemory();
    const y = kiln.F.scaledDotProductAttention(q, k, v, { causal: true });
    y.backward(kiln.onesLike(y));
    await q.grad!.data();
    expect(kiln.memory().largestBufferBytes).toBeLessThan(L * L * 4);
    for (const t of [q, k, v, y]) t.dispose();
  });
});

/** PyTorch's MHA forward (in_proj split into q/k/v, heads, SDPA, out_proj) in float64, [L, N, E] layout. */
async function refMHA(m: kiln.nn.MultiheadAttention, query: Float64Array, key: Float64Array, value: Float64Array, L: number, S: number, N: number, pad: boolean[] | null): Promise<Float64Array> {
  const E = m.embedDim;
  const H = m.numHeads;
  const hd = E / H;
  const W = await m.inProjWeight.data();
  const bIn = await m.inProjBias!.data();
  const Wo = await m.outProj.weight.data();
  const bo = await m.outProj.bias!.data();
  const proj = (x: Float64Array, len: number, part: number): Float64Array => {
    // [len, N, E] → heads [N, H, len, hd]
    const out = new Float64Array(N * H * len * hd);
    for (let l = 0; l < len; l++)
      for (let n = 0; n < N; n++)
        for (let o = 0; o < E; o++) {
          let acc = bIn[part * E + o]!;
          for (let e = 0; e < E; e++) acc += x[(l * N + n) * E + e]! * W[(part * E + o) * E + e]!;
          out[((n * H + Math.floor(o / hd)) * len + l) * hd + (o % hd)] = acc;
        }
    return out;
  };
  const bk = m.biasK ? Float64Array.from(await m.biasK.data()) : undefined;
  const bv = m.biasV ? Float64Array.from(await m.biasV.data()) : undefined;
  const mask: RefMask | undefined = pad ? { data: pad.map((x) => !x), shape: [N, 1, 1, S] } : undefined;
  const att = refAttention(proj(query, L, 0), proj(key, S, 1), proj(value, S, 2), [N, H, L, S, hd], { mask, biasK: bk, biasV: bv });
  const out = new Float64Array(L * N * E);
  for (let l = 0; l < L; l++)
    for (let n = 0; n < N; n++)
      for (let o = 0; o < E; o++) {
        let acc = bo[o]!;
        for (let e = 0; e < E; e++) acc += att[((n * H + Math.floor(e / hd)) * L + l) * hd + (e % hd)]! * Wo[o * E + e]!;
        out[(l * N + n) * E + o] = acc;
      }
  return out;
}

describe('nn.MultiheadAttention', () => {
  it("has PyTorch's state-dict keys and shapes", () => {
    const m = new kiln.nn.MultiheadAttention(64, 2, { addBiasKV: true });
    const sd = m.stateDict();
    expect([...sd.keys()].sort()).toEqual(['bias_k', 'bias_v', 'in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']);
    expect(sd.get('in_proj_weight')!.shape).toEqual([192, 64]);
    expect(sd.get('bias_k')!.shape).toEqual([1, 1, 64]);
    expect([...new kiln.nn.MultiheadAttention(64, 2).stateDict().keys()].sort()).toEqual(['in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']);
  });

  it('forward matches a float64 reference of PyTorch MHA (self-attention; cross-attention with bias-kv and key padding; batchFirst)', async () => {
    const [E, H, L, S, N] = [64, 2, 9, 13, 2];
    const m = new kiln.nn.MultiheadAttention(E, H, { addBiasKV: true });
    kiln.noGrad(() => {
      m.inProjBias!.copy_(t32(randomArray(3 * E, 3, 0.5), [3 * E]));
      m.outProj.bias!.copy_(t32(randomArray(E, 4, 0.5), [E]));
    });
    const xd = randomArray(L * N * E, 5);
    const kd = randomArray(S * N * E, 6);
    const vd = randomArray(S * N * E, 7);
    const x = t32(xd, [L, N, E]);
    const self = m.forward(x, x, x);
    expect(self.weights).toBeNull();
    expect(await self.output.data()).toBeAllClose(await refMHA(m, xd, xd, xd, L, L, N, null), { rtol: 1e-5 });
    const pad = Array.from({ length: N * S }, (_, e) => e % S >= S - 3 * (Math.floor(e / S) + 1)); // true = padding
    const kpm = kiln.tensor(pad, { shape: [N, S], dtype: 'bool' });
    const cross = m.forward(x, t32(kd, [S, N, E]), t32(vd, [S, N, E]), { keyPaddingMask: kpm });
    expect(await cross.output.data()).toBeAllClose(await refMHA(m, xd, kd, vd, L, S, N, pad), { rtol: 1e-5 });
    const mb = new kiln.nn.MultiheadAttention(E, H, { batchFirst: true });
    mb.loadStateDict(new Map([...m.stateDict()].filter(([n]) => !n.startsWith('bias_'))));
    const xb = x.permute([1, 0, 2]).contiguous();
    const yb = mb.forward(xb, xb, xb).output.permute([1, 0, 2]);
    const m2 = new kiln.nn.MultiheadAttention(E, H);
    m2.loadStateDict(mb.stateDict());
    expect(await yb.data()).toBeAllClose(await m2.forward(x, x, x).output.data(), { rtol: 1e-5 });
  });
});
