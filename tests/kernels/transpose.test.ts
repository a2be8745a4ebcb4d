// The tiled transpose (transpose.wgsl) behind `.contiguous()` of a transposed view: bit-exact against the
// host's transpose of the same words, on aligned (vec4) and odd (scalar) shapes, offsets, batches, and a
// copy into a strided destination.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { runTranspose, transposeApplies } from '../../src/kernels/transpose.js';
import { empty } from '../../src/tensor/alloc.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

/** Host transpose of the last two axes of a dense [batch, R, C] array. */
function hostT(v: ArrayLike<number>, batch: number, R: number, C: number): number[] {
  const out: number[] = [];
  for (let z = 0; z < batch; z++) for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) out.push(v[(z * R + r) * C + c]!);
  return out;
}

const bits = (a: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('tiled transpose copy', () => {
  it.each([
    [1, 36, 44], // vec4 entry, edge tiles
    [1, 37, 29], // scalar entry
    [3, 20, 12], // batched vec4
    [2, 5, 66], // batched scalar
    [1, 1, 7],
    [1, 64, 96],
  ])('batch %i, [%i, %i] .mT.contiguous() is bit-exact', async (batch, R, C) => {
    const v = Float32Array.from(randomArray(batch * R * C, TEST_SEED + R + C));
    v[0] = NaN; // any word moves unchanged
    const shape = batch === 1 ? [R, C] : [batch, R, C];
    const x = kiln.tensor(v, { shape });
    const y = x.mT.contiguous();
    expect(y.shape).toEqual(batch === 1 ? [C, R] : [batch, C, R]);
    expect(bits(await y.data())).toEqual(bits(hostT(v, batch, R, C)));
    const i = kiln.tensor(Int32Array.from(v, (f, j) => (Number.isNaN(f) ? -7 : j * 3 - 5)), { shape, dtype: 'i32' });
    expect(Array.from(await i.mT.contiguous().data())).toEqual(hostT(Array.from(await i.data()), batch, R, C));
    for (const t of [x, y, i]) t.dispose();
  });

  it('reads an offset view and writes into a strided destination (both entries)', async () => {
    for (const [R, C] of [[8, 12], [7, 9]] as const) {
      const v = Float32Array.from(randomArray((R + 4) * (C + 4), TEST_SEED + 3));
      const big = kiln.tensor(v, { shape: [C + 4, R + 4] });
      const src = big.slice(0, 4, C + 4).slice(1, 4, R + 4).mT; // [R, C], offset, unit stride along R
      const dst = empty([R, C + 8], 'f32'); // NaN-poisoned
      const d = dst.operand('test');
      const s = src.operand('test');
      const out = { ...d, shape: [R, C], strides: [C + 8, 1], offset: 4 };
      expect(transposeApplies(out, s)).toBe(true);
      runTranspose(out, s);
      const got = await dst.data();
      for (let r = 0; r < R; r++)
        for (let c = 0; c < C; c++) expect(got[r * (C + 8) + 4 + c], `${R}x${C} at ${r},${c}`).toBe(v[(4 + c) * (R + 4) + 4 + r]);
      expect(Number.isNaN(got[0])).toBe(true); // untouched outside the window
      for (const t of [big, dst]) t.dispose();
    }
  });
});
