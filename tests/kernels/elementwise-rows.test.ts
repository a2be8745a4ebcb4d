// The elementwise vec4 rows path at ranks 3 and 4 (elementwise.ts): a head split / merge copied through a
// permuted view and an add broadcast over outer axes, against the host's result, exactly.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

describe('elementwise vec4 rows, rank 3 and 4', () => {
  it('copies [B, L, H, D] ↔ [B, H, L, D] and adds a bias broadcast over two axes (rtol 0)', async () => {
    const [B, L, H, D] = [3, 5, 2, 8];
    const v = Float32Array.from(randomArray(B * L * H * D, TEST_SEED + 21));
    const x = kiln.tensor(v, { shape: [B, L, H, D] });
    const split = x.permute([0, 2, 1, 3]).contiguous(); // [B, H, L, D]
    const want: number[] = [];
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) want.push(v[((b * L + l) * H + h) * D + d]!);
    expect(Array.from(await split.data())).toEqual(want);
    expect(Array.from(await split.permute([0, 2, 1, 3]).contiguous().data())).toEqual(Array.from(v));
    const bias = kiln.tensor(Float32Array.from(randomArray(H * D, TEST_SEED + 22)), { shape: [H, 1, D] });
    const got = await split.add(bias).data();
    const bv = await bias.data();
    expect(Array.from(got)).toEqual(want.map((w, i) => Math.fround(w + bv[Math.floor(i / (L * D)) % H * D + (i % D)]!)));
    for (const t of [x, split, bias]) t.dispose();
  });
});
