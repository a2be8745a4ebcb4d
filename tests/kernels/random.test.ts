// The Philox4x32-10 reference against Random123's published known-answer vectors, and the WGSL kernel's
// counter layout (element i → block offset + ⌊i/4⌋, word i % 4; key = seed's two 32-bit words) against it.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { philox4x32, philoxUniform, split64 } from '../helpers/reference.js';

describe('Philox4x32-10 reference', () => {
  it('matches the Random123 known-answer vectors (kat_vectors)', () => {
    const hex = (w: number[]): string[] => w.map((x) => x.toString(16).padStart(8, '0'));
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });

  it('splits 64-bit seeds and offsets into low and high words', () => {
    expect(split64(0)).toEqual([0, 0]);
    expect(split64(2 ** 32 + 5)).toEqual([5, 1]);
    expect(split64(2 ** 53 - 1)).toEqual([0xffffffff, 2 ** 21 - 1]);
  });
});

describe('random.wgsl', () => {
  it('element i of a uniform draw is word i % 4 of block offset + floor(i / 4), scaled by 2^-24', async () => {
    const seed = 0xdeadbeef + 2 ** 35;
    kiln.setRngState({ seed, offset: 0xfffffffe }); // the block counter carries into the high word
    const t = kiln.rand([4 * 5 + 3]);
    const got = Float64Array.from(await t.data());
    t.dispose();
    const ref = philoxUniform(seed, 0xfffffffe, 23);
    expect(got).toEqual(ref);
    // every value is a multiple of 2^-24 below 1
    expect(got.every((v) => Number.isInteger(v * 2 ** 24) && v < 1)).toBe(true);
  });
});
