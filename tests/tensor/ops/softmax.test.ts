// Fused softmax / log-softmax against a float64 reference, the unfused composition, and finite differences.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { randomArray } from '../../helpers/random.js';

function refSoftmax(x: Float64Array, shape: readonly number[], dim: number, log: boolean): Float64Array {
  const n = shape[dim]!;
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (j: number): number => (o * n + j) * inner + i;
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, x[at(j)]!);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(x[at(j)]! - m);
      for (let j = 0; j < n; j++) y[at(j)] = log ? x[at(j)]! - m - Math.log(s) : Math.exp(x[at(j)]! - m) / s;
    }
  return y;
}

describe('softmax and logSoftmax (fused)', () => {
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    const f = (x: kiln.Tensor, d: number, fused = true): kiln.Tensor => (log ? kiln.F.logSoftmax(x, d, { fused }) : kiln.F.softmax(x, d, { fused }));
    it(`${name}: forward against float64 on awkward shapes and axes (rtol 1e-6)`, async () => {
      const cases: [number[], number][] = [[[1], 0], [[7, 33], 1], [[130, 7], 0], [[3, 5, 257], -1], [[4, 9, 6], 1]];
      for (const [shape, dim] of cases) {
        const xs = randomArray(shape.reduce((a, b) => a * b, 1), 11, 3);
        const x = kiln.tensor(Float32Array.from(xs), { shape });
        const d = dim < 0 ? dim + shape.length : dim;
        expect(await f(x, dim).data()).toBeAllClose(refSoftmax(xs, shape, d, log), { rtol: 1e-6 });
        expect(await f(x, dim).data()).toBeAllClose(await f(x, dim, false).data(), { rtol: 1e-6 });
      }
    });
    it(`${name}: reads non-contiguous input and is stable for large logits`, async () => {
      const xs = randomArray(6 * 10, 5, 50);
      const x = kiln.tensor(Float32Array.from(xs), { shape: [6, 10] });
      const xt = x.mT; // [10, 6] view
      const ref = refSoftmax(Float64Array.from({ length: 60 }, (_, k) => xs[(k % 6) * 10 + Math.floor(k / 6)]!), [10, 6], 1, log);
      expect(await f(xt, 1).data()).toBeAllClose(ref, { rtol: 1e-6 });
    });
    it(`${name}: vec4 path for contiguous rows of length 4k (odd and even vec4 counts, row views at offsets) and the strided path beside it`, async () => {
      // n = 4, 12, 1024 take softmax_vec4.wgsl (12: an odd count of vec4s); 1023, 1025, 6 do not
      for (const n of [4, 12, 1024, 1023, 1025, 6]) {
        const rows = 9;
        const xs = randomArray(rows * n, n, 20).map((v, i) => (i % 97 === 0 ? v + 60 : v)); // a few large logits
        const x = kiln.tensor(Float32Array.from(xs), { shape: [rows, n] });
        expect(await f(x, -1).data()).toBeAllClose(refSoftmax(xs, [rows, n], 1, log), { rtol: 1e-6 });
        // rows 2..8 of x: a view starting at element 2n (a multiple of 4 when n is)
        const tail = x.narrow(0, 2, rows - 2);
        expect(await f(tail, 1).data()).toBeAllClose(refSoftmax(xs.subarray(2 * n), [rows - 2, n], 1, log), { rtol: 1e-6 });
        if (kiln.deviceInfo().features.includes('shader-f16')) {
          // f16 storage, f32 arithmetic: against the f32 result, within f16 rounding
          const h = kiln.tensor(Float32Array.from(xs), { shape: [rows, n], dtype: 'f16' });
          const want = refSoftmax(Float64Array.from(await h.to('f32').data()), [rows, n], 1, log);
          expect(await f(h, -1).to('f32').data()).toBeAllClose(want, { rtol: 2e-3 });
        }
      }
    });
    it(`${name}: backward against finite differences`, async () => {
      await gradcheck((x) => f(x, 1), [{ shape: [3, 5] }]);
      await gradcheck((x) => f(x, 0).mul(x), [{ shape: [33, 4] }], { mode: 'directions' });
    });
  }
  it('refuses integer input and bad axes with a clear error', () => {
    expect(() => kiln.F.softmax(kiln.arange(4), 0)).toThrow(/softmax: expected a floating point tensor, got i32/);
    expect(() => kiln.F.softmax(kiln.ones([2, 2]), 2)).toThrow(/softmax: dimension out of range/);
  });
});
