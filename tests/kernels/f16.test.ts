// Every f16 kernel against float64, forward and backward: matmul, flash attention, layerNorm, softmax,
// GELU / QuickGELU, the conv stem (im2col + matmul / col2im), the fused InfoNCE and the f32-accumulated
// reductions. Inputs are f16-rounded before both sides see them, so the error measured is the kernels'
// own: f32 arithmetic and the final f16 store. Each case uses odd sizes and a non-contiguous view; the
// reference gradient is the float64 vector-Jacobian product by central differences of the float64 forward.
// Tolerances are norm-wise relative errors in units of U = 2^-11 (f16's unit roundoff), justified per op.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { matmulLimits } from '../../src/kernels/matmul-large.js';
import { erf, f16 } from '../helpers/reference.js';
import { relError } from '../helpers/matchers.js';
import { randomArray } from '../helpers/random.js';

const U = 2 ** -11;
const hasF16 = (): boolean => kiln.deviceInfo().features.includes('shader-f16');

/** n f16-representable values: scale·N(0, 1) + offset, rounded to binary16. */
function values16(n: number, seed: number, scale = 1, offset = 0): Float64Array {
  return randomArray(n, seed).map((v) => f16(offset + scale * v));
}

const leaf = (v: Float64Array, shape: number[]): Tensor => kiln.tensor(Float32Array.from(v), { shape, dtype: 'f16', requiresGrad: true });

/** Σ g·f(xs) differentiated by central differences in float64 (step 1e-5·max(1, |x|): error ~1e-9 relative). */
function vjp(f: (xs: Float64Array[]) => Float64Array, xs: Float64Array[], g: Float64Array): Float64Array[] {
  const dot = (y: Float64Array): number => y.reduce((s, v, i) => s + v * g[i]!, 0);
  return xs.map((x, which) =>
    x.map((v, i) => {
      const h = 1e-5 * Math.max(1, Math.abs(v));
      const at = (d: number): number => {
        const copy = xs.map((a) => a);
        const moved = Float64Array.from(x);
        moved[i] = v + d;
        copy[which] = moved;
        return dot(f(copy));
      };
      return (at(h) - at(-h)) / (2 * h);
    }),
  );
}

interface Case {
  /** Leaf inputs: f16-rounded values and shapes (the op may read them through views). */
  readonly inputs: readonly { values: Float64Array; shape: number[] }[];
  readonly gpu: (xs: Tensor[]) => Tensor;
  readonly ref: (xs: Float64Array[]) => Float64Array;
  /** Dtype of the output: f16, or f32 for losses. */
  readonly out: 'f16' | 'f32';
  readonly fwdTol: number;
  readonly bwdTol: number;
  /** An analytic float64 vector-Jacobian product, where central differences would be slow. */
  readonly vjp?: (xs: Float64Array[], g: Float64Array) => Float64Array[];
}

/** Forward against the reference, then backward with a random f16 upstream gradient (1 for a scalar loss). */
async function check(c: Case): Promise<void> {
  const xs = c.inputs.map((i) => leaf(i.values, i.shape));
  const y = c.gpu(xs);
  expect(y.dtype).toBe(c.out);
  const vals = c.inputs.map((i) => i.values);
  const want = c.ref(vals);
  expect(await y.data()).toBeAllClose(want, { rtol: c.fwdTol });
  const gv = y.numel() === 1 ? Float64Array.of(1) : values16(y.numel(), 99);
  y.backward(kiln.tensor(Float32Array.from(gv), { shape: [...y.shape], dtype: c.out }));
  const grads = c.vjp ? c.vjp(vals, gv) : vjp(c.ref, vals, gv);
  for (const [i, x] of xs.entries()) {
    expect(x.grad!.dtype).toBe('f16');
    expect(await x.grad!.data(), `gradient of input ${i}`).toBeAllClose(grads[i]!, { rtol: c.bwdTol });
  }
  for (const t of [...xs, y]) t.dispose();
}

describe('f16 kernels against float64', () => {
  it('matmul: f16 operands, f32 accumulation (batched, B read transposed in place)', async () => {
    if (!hasF16()) return;
    const [Bt, M, K, N] = [3, 13, 101, 9];
    // Each output is one f32 dot product of K exact f16 products (error ≤ K·2^-24 ≈ 6e-6 relative), then
    // one f16 rounding (≤ U; measured ≈ 0.4U norm-wise): 2U leaves room. Backward is two more such
    // products (dA over N, dB over M): the same bound. An f16 accumulator fails it (checked below).
    const product = (round: (x: number) => number) => ([a, b]: Float64Array[]): Float64Array => {
      const o = new Float64Array(Bt * M * N);
      for (let z = 0; z < Bt; z++)
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) s = round(s + round(a![(z * M + i) * K + k]! * b![(z * N + j) * K + k]!));
            o[(z * M + i) * N + j] = s;
          }
      return o;
    };
    const inputs = [{ values: values16(Bt * M * K, 1), shape: [Bt, M, K] }, { values: values16(Bt * N * K, 2), shape: [Bt, N, K] }];
    const exact = product((x) => x)(inputs.map((i) => i.values));
    expect(relError(product(f16)(inputs.map((i) => i.values)), exact)).toBeGreaterThan(2 * U); // the tolerance tells f16 sums apart
    await check({
      inputs,
      gpu: ([a, b]) => a!.matmul(b!.mT),
      ref: product((x) => x),
      // dA[z,i,k] = Σ_j g[z,i,j]·B[z,j,k], dB[z,j,k] = Σ_i g[z,i,j]·A[z,i,k] (B is stored [Bt, N, K])
      vjp: ([a, b], g) => {
        const [da, db] = [new Float64Array(a!.length), new Float64Array(b!.length)];
        for (let z = 0; z < Bt; z++)
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) {
              const gij = g[(z * M + i) * N + j]!;
              for (let k = 0; k < K; k++) {
                da[(z * M + i) * K + k]! += gij * b![(z * N + j) * K + k]!;
                db[(z * N + j) * K + k]! += gij * a![(z * M + i) * K + k]!;
              }
            }
        return [da, db];
      },
      out: 'f16',
      fwdTol: 2 * U,
      bwdTol: 2 * U,
    });
  });

  it('matmul past one storage binding (limit lowered to 4 KiB): K blocks summed in f32, stored once in f16', async () => {
    if (!hasF16()) return;
    const [M, K, N] = [37, 601, 29];
    const a = values16(M * K, 17);
    const b = values16(K * N, 18);
    const want = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) want[i * N + j]! += a[i * K + k]! * b[k * N + j]!;
    const [ta, tb] = [kiln.tensor(Float32Array.from(a), { shape: [M, K], dtype: 'f16' }), kiln.tensor(Float32Array.from(b), { shape: [K, N], dtype: 'f16' })];
    matmulLimits.maxBindingBytes = 4096; // a is 47 KB: blocks of at most 896 elements, K cut into many blocks
    try {
      const y = ta.matmul(tb);
      // f32 sums of exact products (≤ K·2^-24 ≈ 0.07U) and one f16 rounding (≤ U, round to nearest): 1.1U.
      // Adding the K blocks in f16, as before, measured 1.7U; this kernel measures 0.44U.
      expect(await y.data()).toBeAllClose(want, { rtol: 1.1 * U });
      y.dispose();
    } finally {
      matmulLimits.maxBindingBytes = 0;
    }
    for (const t of [ta, tb]) t.dispose();
  });

  const [B, H, Lq, Lk, D] = [1, 2, 11, 13, 12];
  /** q, k, v stored [B, L, H, D] and read as [B, H, L, D] (permuted, head dim contiguous). */
  const at = (x: Float64Array, L: number, b: number, h: number, i: number, d: number): number => x[((b * L + i) * H + h) * D + d]!;
  const attentionRef = (scale: number) => ([q, k, v]: Float64Array[]): Float64Array => {
    const o = new Float64Array(B * H * Lq * D);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Lq; i++) {
          const s = Array.from({ length: Lk }, (_, j) => {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += at(q!, Lq, b, h, i, d) * at(k!, Lk, b, h, j, d);
            return scale * dot;
          });
          const m = Math.max(...s);
          const p = s.map((x) => Math.exp(x - m));
          const z = p.reduce((x, y) => x + y, 0);
          for (let d = 0; d < D; d++) o[((b * H + h) * Lq + i) * D + d] = p.reduce((acc, pj, j) => acc + pj * at(v!, Lk, b, h, j, d), 0) / z;
        }
    return o;
  };
  const qkv = (scale: number): Case['inputs'] => [
    { values: values16(B * Lq * H * D, 3, scale), shape: [B, Lq, H, D] },
    { values: values16(B * Lk * H * D, 4, scale), shape: [B, Lk, H, D] },
    { values: values16(B * Lk * H * D, 5), shape: [B, Lk, H, D] },
  ];
  const sdpa = (scale?: number) => ([q, k, v]: Tensor[]): Tensor =>
    kiln.F.scaledDotProductAttention(q!.permute([0, 2, 1, 3]), k!.permute([0, 2, 1, 3]), v!.permute([0, 2, 1, 3]), scale === undefined ? {} : { scale });

  it('flash attention: f16 q/k/v/o, f32 running max, sum and accumulation, forward and backward', async () => {
    if (!hasF16()) return;
    // Forward: scores, softmax and P·V in f32 (errors ~Lk·2^-24), one f16 store: ≤ U, tested at 2U.
    // Backward: Δ = rowsum(dO∘O) reads the f16-stored O (relative U per element); dS = P∘(dP − Δ) can
    // cancel, so Δ's error is amplified by about ‖Δ‖/‖dP − Δ‖ (≈1–2 on random data), plus the f16 store
    // of dq/dk/dv: 6U.
    await check({ inputs: qkv(1), gpu: sdpa(), ref: attentionRef(1 / Math.sqrt(D)), out: 'f16', fwdTol: 2 * U, bwdTol: 6 * U });
  });

  it('flash attention: logits beyond f16 range (|q·k| > 65504) stay finite, scaled in f32 before exp', async () => {
    if (!hasF16()) return;
    // q, k ~ N(0, 90²) with scale 1: |scores| reach 1e5, past f16's 65504. A kernel storing scores in f16
    // would produce inf − inf = NaN; in f32 the softmax is nearly one-hot and the output one f16 store off.
    const inputs = qkv(90);
    const xs = inputs.map((i) => leaf(i.values, i.shape));
    let maxScore = 0;
    const ref = attentionRef(1)(inputs.map((i) => i.values));
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Lq; i++)
        for (let j = 0; j < Lk; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += at(inputs[0]!.values, Lq, 0, h, i, d) * at(inputs[1]!.values, Lk, 0, h, j, d);
          maxScore = Math.max(maxScore, Math.abs(s));
        }
    expect(maxScore).toBeGreaterThan(65504);
    const y = kiln.noGrad(() => sdpa(1)(xs));
    expect(await y.data()).toBeAllClose(ref, { rtol: 2 * U });
    for (const t of [...xs, y]) t.dispose();
  });

  it('layerNorm: f32 mean and variance of f16 rows (offset 3, read transposed)', async () => {
    if (!hasF16()) return;
    const [R, Dn] = [7, 19];
    // x stored [D, R], used as x.t() [R, D]: rows are strided. Rows sit at 3 ± 1: f16 statistics would lose
    // the deviations (ulp 2^-9 at 3) in the variance; f32 statistics keep them.
    const ref = ([x, w, b]: Float64Array[]): Float64Array => {
      const y = new Float64Array(R * Dn);
      for (let r = 0; r < R; r++) {
        const row = Array.from({ length: Dn }, (_, d) => x![d * R + r]!);
        const mu = row.reduce((a, v) => a + v, 0) / Dn;
        const vr = row.reduce((a, v) => a + (v - mu) ** 2, 0) / Dn;
        for (let d = 0; d < Dn; d++) y[r * Dn + d] = ((row[d]! - mu) / Math.sqrt(vr + 1e-5)) * w![d]! + b![d]!;
      }
      return y;
    };
    // Forward: statistics and normalisation in f32, one f16 store: 2U. Backward: dx, dw, db in f32 from the
    // f16 inputs (dw, db summed over R rows in f32) and one f16 store each: 2U; 4U for the cancellation in
    // dx = r·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)).
    await check({
      inputs: [
        { values: values16(R * Dn, 6, 1, 3), shape: [Dn, R] },
        { values: values16(Dn, 7, 0.5, 1), shape: [Dn] },
        { values: values16(Dn, 8, 0.5), shape: [Dn] },
      ],
      gpu: ([x, w, b]) => kiln.F.layerNorm(x!.t(), [Dn], w, b),
      ref,
      out: 'f16',
      fwdTol: 2 * U,
      bwdTol: 4 * U,
    });
  });

  it('softmax: f32 max and sum of f16 rows (rows strided)', async () => {
    if (!hasF16()) return;
    const [R, N] = [11, 17];
    const ref = ([x]: Float64Array[]): Float64Array => {
      const y = new Float64Array(R * N);
      for (let r = 0; r < R; r++) {
        const row = Array.from({ length: N }, (_, j) => x![j * R + r]!);
        const m = Math.max(...row);
        const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
        for (let j = 0; j < N; j++) y[r * N + j] = Math.exp(row[j]! - m) / z;
      }
      return y;
    };
    // Forward: f32 max/exp/sum, one f16 store: 2U. Backward dx = y∘(g − Σ g∘y) reads the f16-stored y
    // (U relative), which enters both factors, plus the store: 4U.
    await check({ inputs: [{ values: values16(R * N, 9, 4), shape: [N, R] }], gpu: ([x]) => kiln.F.softmax(x!.t(), -1), ref, out: 'f16', fwdTol: 2 * U, bwdTol: 4 * U });
  });

  it('GELU (erf and tanh) and QuickGELU on a transposed view', async () => {
    if (!hasF16()) return;
    const [R, C] = [5, 23];
    const cols = (f: (v: number) => number) => ([x]: Float64Array[]): Float64Array => {
      const y = new Float64Array(R * C);
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) y[r * C + c] = f(x![c * R + r]!);
      return y;
    };
    const gelu = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));
    const geluTanh = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    const quick = (v: number): number => v / (1 + Math.exp(-1.702 * v));
    const x = values16(R * C, 10, 2);
    // GELU is one elementwise kernel computing in f32 (forward and backward): one f16 store, 2U.
    await check({ inputs: [{ values: x, shape: [C, R] }], gpu: ([t]) => t!.t().gelu(), ref: cols(gelu), out: 'f16', fwdTol: 2 * U, bwdTol: 2 * U });
    await check({ inputs: [{ values: x, shape: [C, R] }], gpu: ([t]) => t!.t().gelu({ approximate: 'tanh' }), ref: cols(geluTanh), out: 'f16', fwdTol: 2 * U, bwdTol: 2 * U });
    // QuickGELU is composed (x·sigmoid(1.702·x)): three f16 stores forward (1.702x, the sigmoid, the
    // product) and about as many on each backward path: 4U and 6U.
    await check({ inputs: [{ values: x, shape: [C, R] }], gpu: ([t]) => kiln.F.quickGelu(t!.t()), ref: cols(quick), out: 'f16', fwdTol: 4 * U, bwdTol: 6 * U });
  });

  it('conv2d stem: im2col + matmul forward, col2im backward (input a narrowed view, stride 2, padding 1)', async () => {
    if (!hasF16()) return;
    const [Bn, C, Hh, W, O, k, s, p] = [2, 3, 11, 9, 4, 3, 2, 1];
    const Ho = Math.floor((Hh + 2 * p - k) / s) + 1;
    const Wo = Math.floor((W + 2 * p - k) / s) + 1;
    // x stored [B, C, H, W + 1] and narrowed to its last W columns: a view at offset 1 with row stride W + 1.
    const ref = ([x, w, b]: Float64Array[]): Float64Array => {
      const y = new Float64Array(Bn * O * Ho * Wo);
      for (let n = 0; n < Bn; n++)
        for (let o = 0; o < O; o++)
          for (let i = 0; i < Ho; i++)
            for (let j = 0; j < Wo; j++) {
              let acc = b![o]!;
              for (let c = 0; c < C; c++)
                for (let u = 0; u < k; u++)
                  for (let v = 0; v < k; v++) {
                    const [hi, wi] = [i * s - p + u, j * s - p + v];
                    if (hi < 0 || hi >= Hh || wi < 0 || wi >= W) continue;
                    acc += x![((n * C + c) * Hh + hi) * (W + 1) + wi + 1]! * w![((o * C + c) * k + u) * k + v]!;
                  }
              y[((n * O + o) * Ho + i) * Wo + j] = acc;
            }
      return y;
    };
    // Forward: the columns are exact f16 copies, the product accumulates C·k² = 27 terms in f32, the bias
    // add rounds once more: 3U. Backward: dW and db are f32-accumulated products / sums stored once; dx
    // goes through f16 columns (one store) summed by col2im in f32 (up to 4 overlapping windows) and one
    // final store: 4U.
    await check({
      inputs: [
        { values: values16(Bn * C * Hh * (W + 1), 11), shape: [Bn, C, Hh, W + 1] },
        { values: values16(O * C * k * k, 12, 0.3), shape: [O, C, k, k] },
        { values: values16(O, 13), shape: [O] },
      ],
      gpu: ([x, w, b]) => kiln.F.conv2d(x!.narrow(3, 1, W), w!, b, { stride: s, padding: p }),
      ref,
      out: 'f16',
      fwdTol: 3 * U,
      bwdTol: 4 * U,
    });
  });

  it('InfoNCE: f16 features at logit scale 100, f32 log-sum-exp and loss', async () => {
    if (!hasF16()) return;
    const [n, d] = [13, 10];
    // Unit rows (as CLIP normalises) at scale 100: logits reach ±100, whose exp overflows f32 and f16 alike
    // unless the running max is subtracted first, and which f16 would hold only to ±0.06.
    const unit = (v: Float64Array, rows: number, cols: number, rowStride: number, colStride: number): Float64Array => {
      const out = Float64Array.from(v);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += v[r * rowStride + c * colStride]! ** 2;
        for (let c = 0; c < cols; c++) out[r * rowStride + c * colStride] = f16(v[r * rowStride + c * colStride]! / Math.sqrt(s));
      }
      return out;
    };
    const a = unit(values16(n * d, 14), n, d, d, 1);
    const b = unit(values16(n * d, 15), n, d, 1, n); // stored [d, n], used as b.t()
    const scale = 100;
    const ref = ([av, bv]: Float64Array[]): Float64Array => {
      const L = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
        let s = 0;
        for (let e = 0; e < d; e++) s += av![i * d + e]! * bv![e * n + j]!;
        return scale * s;
      }));
      const lse = (xs: number[]): number => {
        const m = Math.max(...xs);
        return m + Math.log(xs.reduce((acc, x) => acc + Math.exp(x - m), 0));
      };
      let loss = 0;
      for (let i = 0; i < n; i++) loss += lse(L[i]!) - L[i]![i]! + lse(L.map((row) => row[i]!)) - L[i]![i]!;
      return Float64Array.of(loss / (2 * n));
    };
    // The loss is f32 from exact f16 inputs: logits carry ~d·2^-24·100 ≈ 6e-5 absolute error at most,
    // the loss (≈ 10 here) 1e-5 relative: 1e-4. The f16 gradients are f32 values stored once: 2U.
    await check({
      inputs: [{ values: a, shape: [n, d] }, { values: b, shape: [d, n] }],
      gpu: ([x, y]) => kiln.F.infoNCE(x!, y!.t(), kiln.tensor([scale])),
      ref,
      out: 'f32',
      fwdTol: 1e-4,
      bwdTol: 2 * U,
    });
  });

  it('sum and mean of f16 accumulate in f32 (past the 2048-element chunk), like PyTorch keeping f16', async () => {
    if (!hasF16()) return;
    // 3001 values near 1: an f16 running sum stalls at 2048 (ulp 2, adding 1 rounds to even) and would be
    // ~30% off; f32 partials are exact to 2^-24·3001, then one f16 rounding: within U of the f64 sum.
    const v = values16(3001, 16, 0.1, 1);
    const x = kiln.tensor(Float32Array.from(v), { shape: [3001], dtype: 'f16' });
    const s = v.reduce((a, b) => a + b, 0);
    const sum = x.sum();
    const mean = x.mean();
    expect(sum.dtype).toBe('f16');
    expect(await sum.data()).toBeAllClose([s], { rtol: U });
    expect(await mean.data()).toBeAllClose([s / 3001], { rtol: U });
    for (const t of [x, sum, mean]) t.dispose();
  });
});
