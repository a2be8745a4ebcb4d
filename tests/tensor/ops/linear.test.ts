// Fused Linear (F.linear with bias, activation and residual in the matmul's store) against a float64
// reference, its unfused composition (F.linearUnfused) and finite differences; every matmul kernel family.
import { afterEach, describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import type { Tensor } from '../../../src/node.js';
import { matmulCandidates, matmulConfigUsable, naiveMatmulConfig } from '../../../src/kernels/matmul.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { randomArray } from '../../helpers/random.js';
import { gelu, sigmoid } from '../../helpers/reference.js';

type Act = 'none' | 'gelu' | 'quick_gelu';
const ACT: Record<Act, (v: number) => number> = { none: (v) => v, gelu, quick_gelu: (v) => v * sigmoid(1.702 * v) };

/** act(x·wᵀ + b) + r in float64 over rows of x [rows, K], w [N, K]. */
function ref(x: Float64Array, w: Float64Array, b: Float64Array | null, r: Float64Array | null, K: number, N: number, act: Act): Float64Array {
  const rows = x.length / K;
  const y = new Float64Array(rows * N);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < N; j++) {
      let s = b ? b[j]! : 0;
      for (let k = 0; k < K; k++) s += x[i * K + k]! * w[j * K + k]!;
      y[i * N + j] = ACT[act](s) + (r ? r[i * N + j]! : 0);
    }
  return y;
}

const FULL = process.env['KILN_TEST_FULL'] === '1';
const t32 = (d: Float64Array, shape: readonly number[], requiresGrad = false): Tensor => kiln.tensor(Float32Array.from(d), { shape, requiresGrad });

afterEach(() => kiln.forceKernel('matmul', null));

describe('F.linear with a fused epilogue', () => {
  it('forward matches float64 (rtol 1e-5) and the unfused composition (rtol 1e-6) at odd shapes, with a batch dim', async () => {
    // [2, 3, 37]·[23, 37]ᵀ: scalar entry; [2, 300, 64]·[48, 64]ᵀ: M = 600, the weight relaid out, vec4 entry
    // (each activation/bias/residual combination is its own pipeline; the full cross product runs under KILN_TEST_FULL=1)
    const combos: [Act, boolean, boolean][] = FULL
      ? (['none', 'gelu', 'quick_gelu'] as Act[]).flatMap((a) => [[a, true, false], [a, true, true], [a, false, true], [a, false, false]] as [Act, boolean, boolean][])
      : [['none', true, false], ['gelu', true, true], ['quick_gelu', false, true]];
    for (const [lead, K, N] of [[[2, 3], 37, 23], [[2, 300], 64, 48], [[5], 1, 3]] as [number[], number, number][]) {
      const rows = lead.reduce((a, b) => a * b, 1);
      const xs = randomArray(rows * K, K, 1);
      const ws = randomArray(N * K, N, 0.3);
      const bs = randomArray(N, 3);
      const rs = randomArray(rows * N, 4);
      for (const [act, withB, withR] of combos) {
          const [x, w, b, r] = [t32(xs, [...lead, K]), t32(ws, [N, K]), withB ? t32(bs, [N]) : null, withR ? t32(rs, [...lead, N]) : null];
          const y = kiln.F.linear(x, w, b, { activation: act, residual: r });
          expect(y.shape).toEqual([...lead, N]);
          const got = await y.data();
          expect(got, `${K}→${N} ${act} bias ${withB} residual ${withR}`).toBeAllClose(ref(xs, ws, withB ? bs : null, withR ? rs : null, K, N, act), { rtol: 1e-5 });
          expect(got).toBeAllClose(await kiln.F.linearUnfused(x, w, b, { activation: act, residual: r }).data(), { rtol: 1e-6 });
      }
    }
  });

  it('non-contiguous inputs: a column slice (rows merge), a transposed batch (kept as a batch), a transposed matrix (Cᵀ path)', async () => {
    const [K, N] = [19, 13];
    const ws = randomArray(N * K, 7, 0.3);
    const bs = randomArray(N, 8);
    const w = t32(ws, [N, K]);
    const b = t32(bs, [N]);
    const big = randomArray(3 * 5 * (K + 6), 9);
    const src = t32(big, [3, 5, K + 6]);
    const cases: Tensor[] = [src.slice(2, 2, K + 2), src.slice(2, 0, K).transpose(0, 1), t32(randomArray(K * 21, 10), [K, 21]).mT];
    for (const x of cases) {
      const xs = Float64Array.from(await x.contiguous().data());
      const rs = randomArray(xs.length / K * N, 11);
      const r = t32(rs, [...x.shape.slice(0, -1), N]);
      const y = kiln.F.linear(x, w, b, { activation: 'gelu', residual: r });
      expect(await y.data(), `input ${JSON.stringify(x.shape)} strides ${JSON.stringify(x.strides)}`).toBeAllClose(ref(xs, ws, bs, rs, K, N, 'gelu'), { rtol: 1e-5 });
    }
  });

  it('every register-blocked configuration and the reference kernel (composed there) agree with float64', async () => {
    const [lead, K, N] = [[3, 11], 40, 36];
    const xs = randomArray(33 * K, 12);
    const ws = randomArray(N * K, 13, 0.3);
    const bs = randomArray(N, 14);
    const rs = randomArray(33 * N, 15);
    const want = ref(xs, ws, bs, rs, K, N, 'gelu');
    // the first subgroup and tiled candidates and the reference kernel; every candidate under KILN_TEST_FULL=1
    const configs = FULL ? [...matmulCandidates, naiveMatmulConfig] : [matmulCandidates[0]!, matmulCandidates.find((c) => c.kernel === 'tiled')!, naiveMatmulConfig];
    for (const cfg of configs) {
      if (!matmulConfigUsable(cfg)) continue;
      kiln.forceKernel('matmul', cfg);
      const y = kiln.F.linear(t32(xs, [...lead, K]), t32(ws, [N, K]), t32(bs, [N]), { activation: 'gelu', residual: t32(rs, [...lead, N]) });
      expect(await y.data(), JSON.stringify(cfg)).toBeAllClose(want, { rtol: 1e-5 });
    }
  });

  it('gradients match finite differences for each activation, with bias and residual (rtol 2e-2)', async () => {
    for (const act of ['none', 'gelu', 'quick_gelu'] as Act[]) {
      await gradcheck((x, w, b, r) => kiln.F.linear(x, w, b, { activation: act, residual: r }), [{ shape: [2, 3, 5] }, { shape: [4, 5] }, { shape: [4] }, { shape: [2, 3, 4] }], { mode: 'directions', directions: 2 });
    }
  });

  it('gradients equal the unfused composition\'s (rtol 1e-5)', async () => {
    const [lead, K, N] = [[2, 9], 24, 20];
    const xs = randomArray(18 * K, 21);
    const ws = randomArray(N * K, 22, 0.3);
    const bs = randomArray(N, 23);
    const rs = randomArray(18 * N, 24);
    const gs = randomArray(18 * N, 25);
    for (const act of ['gelu', 'quick_gelu'] as Act[]) {
      const grads: ArrayLike<number>[][] = [];
      for (const f of [kiln.F.linear, kiln.F.linearUnfused]) {
        const ins = [t32(xs, [...lead, K], true), t32(ws, [N, K], true), t32(bs, [N], true), t32(rs, [...lead, N], true)] as const;
        const y = f(ins[0], ins[1], ins[2], { activation: act, residual: ins[3] });
        y.backward(t32(gs, y.shape));
        grads.push(await Promise.all(ins.map((t) => t.grad!.data())));
      }
      grads[0]!.forEach((g, i) => expect(g, `${act} input ${i}`).toBeAllClose(grads[1]![i]!, { rtol: 1e-5 }));
    }
  });

  it('under autocast: f16 output (f32 with an f32 residual), close to the f32 result; bad input is refused by name', async () => {
    const x = t32(randomArray(6 * 16, 31), [6, 16]);
    const w = t32(randomArray(8 * 16, 32, 0.3), [8, 16], true);
    const b = t32(randomArray(8, 33), [8], true);
    const r = t32(randomArray(6 * 8, 34), [6, 8]);
    const full = await kiln.F.linear(x, w, b, { activation: 'gelu', residual: r }).data();
    if (kiln.deviceInfo().features.includes('shader-f16')) {
      const [h, hr] = kiln.autocast('f16', () => [kiln.F.linear(x, w, b, { activation: 'gelu' }), kiln.F.linear(x, w, b, { activation: 'gelu', residual: r })]);
      expect(h.dtype).toBe('f16');
      expect(hr.dtype).toBe('f32');
      expect(await hr.data()).toBeAllClose(full, { rtol: 5e-3 });
      hr.sum().backward();
      expect(w.grad!.dtype).toBe('f32');
    }
    expect(() => kiln.F.linear(x, w, b, { residual: t32(randomArray(8, 1), [8]) })).toThrow(/linear: residual must have the output's shape \[6,8\], got \[8\]/);
    expect(() => kiln.F.linear(x, w, b, { activation: 'relu' as 'gelu' })).toThrow(/linear: activation must be one of none, gelu, quick_gelu, got "relu"/);
    expect(() => kiln.F.linear(t32(randomArray(6, 1), [6]), w)).toThrow(/linear: input \[6\] does not end in weight \[8,16\]'s in_features 16/);
  });
  it('nn.linearThen: the fused op on a plain Linear; a Linear with hooks runs fc then the composed rest, same values; bad activations refused', async () => {
    const fc = new kiln.nn.Linear(7, 5);
    const x = kiln.tensor(randomArray(3 * 7, 41), { shape: [3, 7] });
    const r = kiln.tensor(randomArray(3 * 5, 42), { shape: [3, 5] });
    const fusedOut = await kiln.nn.linearThen(fc, x, { activation: 'gelu', residual: r }).data();
    const seen: number[] = [];
    fc.registerForwardHook((_m, _in, out) => void seen.push(...(out as Tensor).shape));
    const hooked = await kiln.nn.linearThen(fc, x, { activation: 'gelu', residual: r }).data();
    expect(seen).toEqual([3, 5]); // the hook saw fc's own output, before the activation and residual
    expect(hooked).toBeAllClose(fusedOut, { rtol: 1e-5, atol: 1e-6 });
    const [xs, ws, bs, rs] = [await x.data(), await fc.weight.data(), await fc.bias!.data(), await r.data()].map((a) => Float64Array.from(a));
    expect(fusedOut).toBeAllClose(ref(xs!, ws!, bs!, rs!, 7, 5, 'gelu'), { rtol: 1e-5, atol: 1e-6 });
    expect(() => kiln.nn.linearThen(fc, x, { activation: 'tanh' as 'gelu' })).toThrow(/linearThen: activation must be one of none, gelu, quick_gelu, got "tanh"/);
  });
});
