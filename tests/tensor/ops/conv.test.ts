// conv2d / conv3d (im2col + matmul, and the unfold-view path for patches) against a float64 direct
// convolution, their gradients against finite differences, Tensor.unfold, determinism, and the modules.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { im2col } from '../../../src/tensor/ops/conv.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { randomArray } from '../../helpers/random.js';

/** Direct N-d convolution in float64: x [B, C, ...S], w [O, C, ...K] → [B, O, ...S']. */
function refConv(x: Float64Array, xs: readonly number[], w: Float64Array, ws: readonly number[], b: Float64Array | null, stride: readonly number[], pad: readonly number[]): { y: Float64Array; shape: number[] } {
  const [B, C] = [xs[0]!, xs[1]!];
  const O = ws[0]!;
  const S = xs.slice(2);
  const K = ws.slice(2);
  const nd = S.length;
  const outs = S.map((s, d) => Math.floor((s + 2 * pad[d]! - K[d]!) / stride[d]!) + 1);
  const L = outs.reduce((a, v) => a * v, 1);
  const KN = K.reduce((a, v) => a * v, 1);
  const SN = S.reduce((a, v) => a * v, 1);
  const y = new Float64Array(B * O * L);
  const unravel = (i: number, dims: readonly number[]): number[] => {
    const c = new Array<number>(dims.length);
    for (let d = dims.length - 1; d >= 0; d--) {
      c[d] = i % dims[d]!;
      i = Math.floor(i / dims[d]!);
    }
    return c;
  };
  for (let bi = 0; bi < B; bi++)
    for (let o = 0; o < O; o++)
      for (let l = 0; l < L; l++) {
        const oc = unravel(l, outs);
        let acc = b ? b[o]! : 0;
        for (let c = 0; c < C; c++)
          for (let k = 0; k < KN; k++) {
            const kc = unravel(k, K);
            let idx = 0;
            let inside = true;
            for (let d = 0; d < nd; d++) {
              const p = oc[d]! * stride[d]! + kc[d]! - pad[d]!;
              if (p < 0 || p >= S[d]!) inside = false;
              idx = idx * S[d]! + p;
            }
            if (inside) acc += x[(bi * C + c) * SN + idx]! * w[(o * C + c) * KN + k]!;
          }
        y[(bi * O + o) * L + l] = acc;
      }
  return { y, shape: [B, O, ...outs] };
}

interface Case {
  x: number[];
  w: number[];
  stride: number | number[];
  padding: number | number[];
  bias: boolean;
}

const tuple = (v: number | number[], nd: number): number[] => (typeof v === 'number' ? new Array<number>(nd).fill(v) : v);
const prod = (s: readonly number[]): number => s.reduce((a, v) => a * v, 1);

async function checkForward(c: Case, seed: number): Promise<void> {
  const nd = c.x.length - 2;
  const xs = randomArray(prod(c.x), seed);
  const wsv = randomArray(prod(c.w), seed + 1);
  const bs = c.bias ? randomArray(c.w[0]!, seed + 2) : null;
  const x = kiln.tensor(Float32Array.from(xs), { shape: c.x });
  const w = kiln.tensor(Float32Array.from(wsv), { shape: c.w });
  const b = bs ? kiln.tensor(Float32Array.from(bs)) : null;
  const f = nd === 2 ? kiln.F.conv2d : kiln.F.conv3d;
  const y = f(x, w, b, { stride: c.stride, padding: c.padding });
  const ref = refConv(xs, c.x, wsv, c.w, bs, tuple(c.stride, nd), tuple(c.padding, nd));
  expect(y.shape, JSON.stringify(c)).toEqual(ref.shape);
  expect(await y.data(), JSON.stringify(c)).toBeAllClose(ref.y, { rtol: 1e-5 });
  for (const t of [x, w, b, y]) t?.dispose();
}

describe('conv2d / conv3d forward', () => {
  it('conv2d matches a float64 direct convolution: patches, overlap, gaps, padding, odd sizes, bias', async () => {
    const cases: Case[] = [
      { x: [2, 3, 8, 10], w: [4, 3, 2, 2], stride: 2, padding: 0, bias: true }, // stride = kernel (views path)
      { x: [1, 2, 9, 10], w: [3, 2, 4, 4], stride: 4, padding: 0, bias: false }, // patches, remainder dropped
      { x: [1, 2, 9, 11], w: [5, 2, 4, 4], stride: 3, padding: 0, bias: true }, // overlap k=4 s=3
      { x: [1, 1, 40, 50], w: [6, 1, 16, 16], stride: 10, padding: 0, bias: false }, // ImageBind-audio-like
      { x: [2, 3, 7, 6], w: [4, 3, 3, 3], stride: 1, padding: 1, bias: true }, // 'same' padding
      { x: [1, 2, 7, 9], w: [3, 2, 3, 2], stride: [2, 1], padding: [1, 0], bias: true }, // per-dim stride/padding
      { x: [1, 3, 11, 7], w: [2, 3, 2, 2], stride: 3, padding: 2, bias: false }, // gaps (stride > kernel), padding
      { x: [1, 2, 3, 3], w: [2, 2, 5, 5], stride: 1, padding: 1, bias: true }, // kernel = padded input
    ];
    for (const [i, c] of cases.entries()) await checkForward(c, 100 + 10 * i);
  });

  it('conv3d matches a float64 direct convolution (ImageBind-vision-like patches, overlap with padding)', async () => {
    const cases: Case[] = [
      { x: [1, 3, 2, 28, 28], w: [5, 3, 2, 14, 14], stride: [2, 14, 14], padding: 0, bias: false }, // vision stem, small
      { x: [2, 2, 5, 6, 7], w: [3, 2, 2, 3, 3], stride: [1, 2, 2], padding: [1, 0, 1], bias: true },
      { x: [1, 1, 3, 5, 4], w: [2, 1, 3, 3, 3], stride: 1, padding: 0, bias: true },
    ];
    for (const [i, c] of cases.entries()) await checkForward(c, 300 + 10 * i);
  });

  it('reads non-contiguous inputs, and accepts an unbatched input', async () => {
    const xs = randomArray(3 * 2 * 6 * 5, 41);
    const wsv = randomArray(4 * 3 * 3 * 2, 42);
    const base = kiln.tensor(Float32Array.from(xs), { shape: [3, 2, 6, 5] }); // [C, B, H, W]
    const x = base.permute([1, 0, 2, 3]); // [B, C, H, W] view
    const xc = Float64Array.from(await x.contiguous().data());
    const w = kiln.tensor(Float32Array.from(wsv), { shape: [4, 3, 3, 2] });
    const ref = refConv(xc, [2, 3, 6, 5], wsv, [4, 3, 3, 2], null, [2, 1], [1, 1]);
    expect(await kiln.F.conv2d(x, w, null, { stride: [2, 1], padding: 1 }).data()).toBeAllClose(ref.y, { rtol: 1e-5 });
    // The vision stem's PadIm2Video repeats the image along T: a stride-0 (expanded) input.
    const img = kiln.tensor(Float32Array.from(randomArray(3 * 28 * 28, 43)), { shape: [1, 3, 1, 28, 28] });
    const video = img.expand([1, 3, 2, 28, 28]);
    const w3 = kiln.tensor(Float32Array.from(randomArray(4 * 3 * 2 * 14 * 14, 44)), { shape: [4, 3, 2, 14, 14] });
    const vref = refConv(Float64Array.from(await video.contiguous().data()), [1, 3, 2, 28, 28], Float64Array.from(await w3.data()), [4, 3, 2, 14, 14], null, [2, 14, 14], [0, 0, 0]);
    expect(await kiln.F.conv3d(video, w3, null, { stride: [2, 14, 14] }).data()).toBeAllClose(vref.y, { rtol: 1e-5 });
    const one = x.select(0, 1); // [C, H, W]
    const y1 = kiln.F.conv2d(one, w, null, { stride: [2, 1], padding: 1 });
    expect(y1.shape).toEqual(ref.shape.slice(1));
    expect(await y1.data()).toBeAllClose(ref.y.subarray(ref.y.length / 2), { rtol: 1e-5 });
  });

  it('the im2col kernel and the unfold-view path build identical columns', async () => {
    const x = kiln.tensor(Float32Array.from(randomArray(2 * 3 * 9 * 11, 51)), { shape: [2, 3, 9, 11] });
    for (const [k, s] of [[[4, 4], [3, 2]], [[3, 2], [3, 2]]] as const) {
      const a = await im2col(x, k, s, [0, 0], 'kernel').data();
      const b = await im2col(x, k, s, [0, 0], 'views').data();
      expect(Array.from(a)).toEqual(Array.from(b));
    }
  });
});

describe('conv2d / conv3d backward', () => {
  it('x, weight and bias against finite differences (full on tiny inputs)', async () => {
    await gradcheck((x, w, b) => kiln.F.conv2d(x, w, b, { stride: [1, 2], padding: [1, 0] }), [{ shape: [1, 2, 4, 5] }, { shape: [2, 2, 2, 3] }, { shape: [2] }]);
    await gradcheck((x, w) => kiln.F.conv2d(x, w, null, { stride: 2 }), [{ shape: [2, 1, 4, 4] }, { shape: [3, 1, 2, 2] }]); // patches path
    await gradcheck((x, w, b) => kiln.F.conv3d(x, w, b, { stride: [1, 2, 1], padding: [0, 1, 0] }), [{ shape: [1, 1, 3, 3, 4] }, { shape: [2, 1, 2, 2, 2] }, { shape: [2] }]);
  });

  it('against finite differences in random directions on larger, overlapping and patch shapes', async () => {
    const opts = { mode: 'directions', directions: 3 } as const;
    await gradcheck((x, w) => kiln.F.conv2d(x, w, null, { stride: 10 }), [{ shape: [1, 1, 40, 50] }, { shape: [4, 1, 16, 16] }], opts);
    await gradcheck((x, w, b) => kiln.F.conv2d(x, w, b, { stride: 3, padding: 2 }), [{ shape: [2, 3, 9, 11] }, { shape: [4, 3, 4, 4] }, { shape: [4] }], opts);
    await gradcheck((x, w, b) => kiln.F.conv3d(x, w, b, { stride: [2, 7, 7] }), [{ shape: [1, 3, 2, 14, 21] }, { shape: [4, 3, 2, 7, 7] }, { shape: [4] }], opts);
  });

  it('is deterministic: two backward passes give bit-identical gradients', async () => {
    const run = async (): Promise<Float32Array[]> => {
      const x = kiln.tensor(Float32Array.from(randomArray(2 * 2 * 20 * 23, 61)), { shape: [2, 2, 20, 23], requiresGrad: true });
      const w = kiln.tensor(Float32Array.from(randomArray(8 * 2 * 6 * 6, 62)), { shape: [8, 2, 6, 6], requiresGrad: true });
      const b = kiln.tensor(Float32Array.from(randomArray(8, 63)), { requiresGrad: true });
      const y = kiln.F.conv2d(x, w, b, { stride: 2, padding: 1 });
      y.backward(kiln.tensor(Float32Array.from(randomArray(y.numel(), 64)), { shape: y.shape }));
      const out = await Promise.all([x, w, b].map(async (t) => await t.grad!.data()));
      for (const t of [x, w, b, y]) t.dispose();
      return out;
    };
    const a = await run();
    const b = await run();
    a.forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true));
  });
});

describe('Tensor.unfold', () => {
  it('is a strided view with a trailing window dim (PyTorch semantics)', async () => {
    const x = kiln.arange(0, 2 * 10).reshape([2, 10]);
    const u = x.unfold(1, 4, 3); // windows at 0, 3, 6
    expect(u.shape).toEqual([2, 3, 4]);
    expect(u.storage).toBe(x.storage);
    expect(await u.toArray()).toEqual([
      [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]],
      [[10, 11, 12, 13], [13, 14, 15, 16], [16, 17, 18, 19]],
    ]);
    const v = x.unfold(0, 2, 1).unfold(-2, 3, 4); // [1, 10, 2] → [1, 2, 2, 3]: v[0, i, k, m] = x[k, 4i + m]
    expect(v.shape).toEqual([1, 2, 2, 3]);
    expect(v.storage).toBe(x.storage);
    expect(await v.toArray()).toEqual([[[[0, 1, 2], [10, 11, 12]], [[4, 5, 6], [14, 15, 16]]]]);
    expect(x.unfold(1, 0, 5).shape).toEqual([2, 3, 0]);
    expect(await kiln.tensor(7).unfold(0, 1, 1).toArray()).toEqual([7]);
    for (const t of [x, u, v]) t.dispose();
  });

  it('IMU patching: unfold(-1, 8, 8) → [B, 250, 48] channel-major inside the patch', async () => {
    const xs = randomArray(2 * 6 * 40, 71);
    const x = kiln.tensor(Float32Array.from(xs), { shape: [2, 6, 40] });
    const p = x.unfold(-1, 8, 8).permute([0, 2, 1, 3]).reshape([2, 5, 48]);
    const ref = new Float64Array(2 * 5 * 48);
    for (let b = 0; b < 2; b++) for (let t = 0; t < 5; t++) for (let c = 0; c < 6; c++) for (let k = 0; k < 8; k++) ref[(b * 5 + t) * 48 + c * 8 + k] = xs[(b * 6 + c) * 40 + t * 8 + k]!;
    expect(await p.data()).toBeAllClose(ref, { rtol: 1e-7 });
  });

  it('gradient sums overlapping windows back (and leaves gaps at zero), against finite differences', async () => {
    const x = kiln.tensor([1, 2, 3, 4, 5, 6, 7], { requiresGrad: true });
    x.unfold(0, 3, 2).sum().backward(); // windows [0..2], [2..4], [4..6]: elements 2 and 4 appear twice
    expect(Array.from(await x.grad!.data())).toEqual([1, 1, 2, 1, 2, 1, 1]);
    const z = kiln.tensor([1, 2, 3, 4, 5, 6, 7, 8], { requiresGrad: true });
    z.unfold(0, 2, 3).sum().backward(); // windows [0,1], [3,4], [6,7]: gaps at 2 and 5
    expect(Array.from(await z.grad!.data())).toEqual([1, 1, 0, 1, 1, 0, 1, 1]);
    await gradcheck((t) => t.unfold(1, 3, 2), [{ shape: [2, 7, 3] }]);
    await gradcheck((t) => t.unfold(-1, 4, 1).mul(t.unfold(-1, 4, 1)), [{ shape: [3, 9] }]); // overlap, squared
    await gradcheck((t) => t.permute([2, 0, 1]).unfold(1, 2, 2).unfold(2, 3, 1), [{ shape: [3, 4, 5] }], { mode: 'directions' }); // strided input, chained
    await gradcheck((t) => t.unfold(0, 5, 3).permute([2, 0, 1]), [{ shape: [11, 4] }], { mode: 'directions' }); // non-contiguous dy
  });

  it('refuses bad arguments with clear errors', () => {
    const x = kiln.zeros([2, 5]);
    expect(() => x.unfold(1, 6, 1)).toThrow(/unfold: maximum size for tensor at dimension 1 is 5 but size is 6/);
    expect(() => x.unfold(1, 2, 0)).toThrow(/unfold: step is 0 but must be > 0/);
    expect(() => x.unfold(2, 2, 1)).toThrow(/unfold/);
    x.dispose();
  });
});

describe('conv errors and modules', () => {
  it('refuses bad input with errors naming the op and the shapes', () => {
    const x = kiln.zeros([1, 3, 8, 8]);
    expect(() => kiln.F.conv2d(x, kiln.zeros([4, 2, 3, 3]))).toThrow(/conv2d: weight \[4,2,3,3\] expects 2 input channels, but the input \[1,3,8,8\] has 3 channels/);
    expect(() => kiln.F.conv2d(x, kiln.zeros([4, 3, 9, 3]))).toThrow(/conv2d: kernel size \[9,3\] is larger than the padded input size \[8,8\]/);
    expect(() => kiln.F.conv2d(x, kiln.zeros([4, 3, 9, 3]), null, { padding: 1 })).not.toThrow();
    expect(() => kiln.F.conv2d(kiln.zeros([8, 8]), kiln.zeros([4, 3, 3, 3]))).toThrow(/conv2d: expected a 4-D input \[B, C, H, W\] \(or 3-D unbatched\), got \[8,8\]/);
    expect(() => kiln.F.conv3d(x, kiln.zeros([4, 3, 3, 3]))).toThrow(/conv3d: expected a 5-D weight/);
    expect(() => kiln.F.conv2d(x, kiln.zeros([4, 3, 3, 3]), null, { stride: 0 })).toThrow(/conv2d: stride must be a positive integer or 2 of them, got 0/);
    expect(() => kiln.F.conv2d(x, kiln.zeros([4, 3, 3, 3]), null, { stride: [1, 2, 3] })).toThrow(/conv2d: stride must be/);
    expect(() => kiln.F.conv2d(x, kiln.zeros([4, 3, 3, 3]), null, { padding: -1 })).toThrow(/conv2d: padding must be a non-negative integer/);
    expect(() => kiln.F.conv2d(x, kiln.zeros([4, 3, 3, 3]), kiln.zeros([3]))).toThrow(/conv2d: bias must have shape \[4\]/);
    x.dispose();
  });

  it('Conv2d and Conv3d keep PyTorch parameter names, layouts and default init', async () => {
    const audio = new kiln.nn.Conv2d(1, 8, 16, { stride: 10, bias: false });
    expect([...audio.stateDict().keys()]).toEqual(['weight']);
    expect(audio.weight.shape).toEqual([8, 1, 16, 16]);
    expect(audio.bias).toBeNull();
    const vision = new kiln.nn.Conv3d(3, 6, [2, 14, 14], { stride: [2, 14, 14] });
    expect([...vision.namedParameters()].map(([n, t]) => [n, t.shape])).toEqual([['weight', [6, 3, 2, 14, 14]], ['bias', [6]]]);
    // kaiming_uniform(a=√5) bounds the weight by 1/√fan_in, and the bias uses the same bound.
    const bound = 1 / Math.sqrt(3 * 2 * 14 * 14);
    const w = await vision.weight.data();
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Math.max(...Array.from(await vision.bias!.data(), Math.abs))).toBeLessThanOrEqual(bound);
    const x = kiln.randn([2, 1, 40, 50]);
    const y = audio.forward(x);
    expect(y.shape).toEqual([2, 8, 3, 4]);
    const tokens = y.flatten(2).transpose(1, 2); // [B, L, D]: ImageBind's patch tokens, a free view
    expect(tokens.isContiguous()).toBe(true);
    expect(() => new kiln.nn.Conv2d(1, 8, 0)).toThrow(/Conv2d: kernel_size must be a positive integer/);
    for (const t of [x, y, tokens]) t.dispose();
    audio.dispose();
    vision.dispose();
  });
});

describe('conv batch splitting', () => {
  it('convolves batch chunks when columns pass one binding, with the same values and gradients', async () => {
    const { convLimits } = await import('../../../src/tensor/ops/conv.js');
    const xs = randomArray(5 * 2 * 12 * 13, 81);
    const wsv = randomArray(3 * 2 * 4 * 4, 82);
    const run = async (limit: number): Promise<Float32Array[]> => {
      convLimits.maxBindingBytes = limit;
      try {
        const x = kiln.tensor(Float32Array.from(xs), { shape: [5, 2, 12, 13], requiresGrad: true });
        const w = kiln.tensor(Float32Array.from(wsv), { shape: [3, 2, 4, 4], requiresGrad: true });
        const y = kiln.F.conv2d(x, w, null, { stride: 3, padding: 1 });
        y.backward(kiln.tensor(Float32Array.from(randomArray(y.numel(), 83)), { shape: y.shape }));
        const out = [await y.data(), await x.grad!.data(), await w.grad!.data()] as Float32Array[];
        for (const t of [x, w, y]) t.dispose();
        return out;
      } finally {
        convLimits.maxBindingBytes = 0;
      }
    };
    const whole = await run(0);
    const split = await run(2 * 16 * 32 * 4); // one sample's columns are 16 rows × 32 floats: two per chunk
    whole.forEach((a, i) => expect(split[i]!).toBeAllClose(a, { rtol: 1e-6 }));
    convLimits.maxBindingBytes = 100;
    expect(() => kiln.F.conv2d(kiln.zeros([2, 2, 12, 13]), kiln.zeros([3, 2, 4, 4]))).toThrow(/conv2d: one sample of input \[2,2,12,13\] with weight \[3,2,4,4\] needs \d+ bytes/);
    convLimits.maxBindingBytes = 0;
  });
});

describe('conv in f16', () => {
  it('im2col and col2im store f16 (col2im accumulates in f32)', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    const xs = randomArray(2 * 9 * 11, 91);
    const wsv = randomArray(3 * 2 * 4 * 4, 92);
    const x = kiln.tensor(Float32Array.from(xs), { shape: [1, 2, 9, 11] }).half().requiresGrad_(true);
    const w = kiln.tensor(Float32Array.from(wsv), { shape: [3, 2, 4, 4] }).half();
    const y = kiln.F.conv2d(x, w, null, { stride: 3, padding: 1 });
    const x64 = Float64Array.from(await x.data());
    const w64 = Float64Array.from(await w.data());
    expect(await y.data()).toBeAllClose(refConv(x64, [1, 2, 9, 11], w64, [3, 2, 4, 4], null, [3, 3], [1, 1]).y, { rtol: 3e-3 });
    y.sum().backward();
    // dx[i] = Σ over the windows covering i of Σ_o w[o, c, k]: compare with the f32 path on the same values.
    const x32 = kiln.tensor(Float32Array.from(x64), { shape: [1, 2, 9, 11], requiresGrad: true });
    kiln.F.conv2d(x32, kiln.tensor(Float32Array.from(w64), { shape: [3, 2, 4, 4] }), null, { stride: 3, padding: 1 }).sum().backward();
    expect(x.grad!.dtype).toBe('f16');
    expect(await x.grad!.data()).toBeAllClose(await x32.grad!.data(), { rtol: 3e-3 });
  });
});
