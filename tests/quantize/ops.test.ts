// kiln.quantize's GPU ops: per-row int8 quantisation (scales, rounding bound, zero padding, an all-zero row)
// and the int8 matmul on each dot product path, forced, against a float64 reference of the quantised
// computation (exact integer sums, so near-exact), with and without bias; backward through it refuses.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

const q = kiln.quantize;

/** The signed byte c of each row from packed words [rows, ceil(cols/4)]. */
function unpack(words: Uint32Array, rows: number, cols: number): Int8Array {
  const W = Math.ceil(cols / 4);
  const out = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = (words[r * W + (c >> 2)]! >>> (8 * (c & 3))) & 0xff;
  return out;
}

async function packed(p: kiln.quantize.PackedInt8): Promise<Uint32Array> {
  return new Uint32Array((await p.values.data()).buffer.slice(0));
}

describe('quantize.quantizeRows', () => {
  it('scale = max|row|/127, |q − x/scale| ≤ ½, padding bytes 0, an all-zero row → scale 0 and zeros', async () => {
    const rows = 7;
    const cols = 13;
    const x = Float32Array.from(randomArray(rows * cols, TEST_SEED, 3));
    x.fill(0, 2 * cols, 3 * cols); // row 2 all zeros
    x[5 * cols + 4] = -40; // an outlier sets row 5's scale
    const p = q.quantizeRows(kiln.tensor(x, { shape: [rows, cols] }));
    expect(p.values.dtype).toBe('u32');
    expect(p.values.shape).toEqual([rows, 4]);
    const words = await packed(p);
    const scales = await p.scales.data();
    const ints = unpack(words, rows, cols);
    for (let r = 0; r < rows; r++) {
      let amax = 0;
      for (let c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(x[r * cols + c]!));
      expect(scales[r]).toBeCloseTo(amax / 127, 6);
      for (let c = 0; c < cols; c++) {
        const v = ints[r * cols + c]!;
        if (amax === 0) expect(v).toBe(0);
        else expect(Math.abs(v - x[r * cols + c]! / (amax / 127))).toBeLessThanOrEqual(0.5 + 1e-4);
      }
      expect(words[r * 4 + 3]! >>> 8).toBe(0); // columns 13..15 are padding
    }
    expect(ints.some((v) => v === -127)).toBe(true); // the outlier maps to the end of the range
    // Dequantised error bound: |x − q·scale| ≤ scale / 2 per element.
    const deq = await q.dequantize(p, rows);
    for (let i = 0; i < rows * cols; i++) expect(Math.abs(deq[i]! - x[i]!)).toBeLessThanOrEqual(scales[Math.floor(i / cols)]! / 2 + 1e-6);
    p.values.dispose();
    p.scales.dispose();
  });
});

describe.each(['packed', 'unpacked'] as const)('quantize.int8Linear (%s dot product)', (dotProduct) => {
  it('equals a float64 reference of the quantised matmul, with and without bias', async (ctx) => {
    if (dotProduct === 'packed' && !q.hasPackedDot()) ctx.skip();
    const [B, L, K, N] = [3, 5, 37, 19]; // odd sizes: partial 4×4 blocks and a partial last word
    const x = kiln.tensor(Float32Array.from(randomArray(B * L * K, TEST_SEED + 1)), { shape: [B, L, K] });
    const w = kiln.tensor(Float32Array.from(randomArray(N * K, TEST_SEED + 2, 0.2)), { shape: [N, K] });
    const bias = kiln.tensor(Float32Array.from(randomArray(N, TEST_SEED + 3)), { shape: [N] });
    const wq = q.quantizeRows(w);
    const xq = q.quantizeRows(x.reshape([B * L, K])); // the same kernel int8Linear runs on its input
    const [wi, xi] = [unpack(await packed(wq), N, K), unpack(await packed(xq), B * L, K)];
    const [ws, xs, b] = [await wq.scales.data(), await xq.scales.data(), await bias.data()];
    const ref = (withBias: boolean): Float64Array => {
      const out = new Float64Array(B * L * N);
      for (let m = 0; m < B * L; m++)
        for (let n = 0; n < N; n++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += xi[m * K + k]! * wi[n * K + k]!;
          out[m * N + n] = acc * xs[m]! * ws[n]! + (withBias ? b[n]! : 0);
        }
      return out;
    };
    for (const withBias of [true, false]) {
      const y = q.int8Linear(x, wq, withBias ? bias : null, { dotProduct });
      expect(y.shape).toEqual([B, L, N]);
      expect(await y.data()).toBeAllClose(ref(withBias), { rtol: 1e-6, atol: 1e-6 });
      y.dispose();
    }
    for (const t of [x, w, bias, wq.values, wq.scales, xq.values, xq.scales]) t.dispose();
  });

  it('refuses backward with an error naming the layer', (ctx) => {
    if (dotProduct === 'packed' && !q.hasPackedDot()) ctx.skip();
    const x = kiln.randn([2, 8], { requiresGrad: true });
    const wq = q.quantizeRows(kiln.randn([4, 8]));
    const y = q.int8Linear(x, wq, null, { dotProduct, name: 'mlp.fc1' });
    expect(() => y.sum().backward()).toThrow(/'mlp\.fc1' is an int8 dynamically quantised Linear, which is inference only/);
    const z = kiln.noGrad(() => q.int8Linear(x, wq, null, { dotProduct }));
    expect(z.requiresGrad).toBe(false);
  });
});

describe('quantize.int8Linear input checks', () => {
  it('names the bad dot product, shape or bias', () => {
    const wq = q.quantizeRows(kiln.randn([4, 8]));
    expect(() => q.int8Linear(kiln.randn([2, 8]), wq, null, { dotProduct: 'fast' as 'packed' })).toThrow(/dotProduct must be 'auto', 'packed' or 'unpacked', got "fast"/);
    expect(() => q.int8Linear(kiln.randn([2, 7]), wq, null)).toThrow(/last dimension 8, got shape \[2, 7\]/);
    expect(() => q.int8Linear(kiln.randn([2, 8]), wq, kiln.randn([5]))).toThrow(/bias of shape \[4\]/);
    expect(() => q.quantizeRows(kiln.randn([2, 3, 4]))).toThrow(/expected a 2-D tensor/);
  });
});
