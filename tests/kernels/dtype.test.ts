// Host-side dtype machinery: PyTorch's promotion tables, and binary16 conversion (every bit pattern round
// trips; rounding of arbitrary floats matches a float64 round-half-to-even reference, subnormals included).
import { describe, expect, it } from 'vitest';
import { DTYPES, type DType, computeType, promoteTypes, promoteWithScalar } from '../../src/kernels/dtype.js';
import { fromHalfBits, toHalfBits } from '../../src/kernels/f16.js';
import { f16 } from '../helpers/reference.js';
import { rng } from '../helpers/random.js';

describe('promotion tables', () => {
  it('promoteTypes is symmetric and follows bool < u32 < i32 < f16 < f32', () => {
    const order: DType[] = ['bool', 'u32', 'i32', 'f16', 'f32'];
    for (const a of DTYPES)
      for (const b of DTYPES) {
        expect(promoteTypes(a, b)).toBe(promoteTypes(b, a));
        expect(promoteTypes(a, b)).toBe(order[Math.max(order.indexOf(a), order.indexOf(b))]);
      }
  });

  it('a number is a weak scalar: it keeps the tensor dtype unless it is fractional and the tensor is not float', () => {
    expect(promoteWithScalar('i32', 2)).toBe('i32');
    expect(promoteWithScalar('i32', 2.5)).toBe('f32');
    expect(promoteWithScalar('u32', 0.5)).toBe('f32');
    expect(promoteWithScalar('bool', 1)).toBe('i32');
    expect(promoteWithScalar('f16', 1e6)).toBe('f16');
    expect(promoteWithScalar('f32', 3)).toBe('f32');
    expect(computeType('f16')).toBe('f32');
    expect(computeType('bool')).toBe('u32');
  });
});

describe('binary16 conversion', () => {
  it('every finite bit pattern round trips; NaNs stay NaN', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      const exp = (h >>> 10) & 0x1f;
      const mant = h & 0x3ff;
      if (exp === 0x1f && mant !== 0) {
        expect(Number.isNaN(v)).toBe(true);
        expect(Number.isNaN(fromHalfBits(toHalfBits(v)))).toBe(true);
        continue;
      }
      if (toHalfBits(v) !== h) throw new Error(`bits 0x${h.toString(16)} → ${v} → 0x${toHalfBits(v).toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, across normals, subnormals, overflow and underflow', () => {
    const r = rng(5);
    const samples: number[] = [65504, 65519.99, 65520, 1e6, -1e6, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -26, 3 * 2 ** -26, 6.1e-5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0];
    for (let i = 0; i < 20000; i++) {
      const e = Math.floor(r() * 44) - 28;
      samples.push((r() < 0.5 ? -1 : 1) * (1 + r()) * 2 ** e);
    }
    for (const x of samples) {
      const xf = Math.fround(x); // toHalfBits converts through float32
      const got = fromHalfBits(toHalfBits(xf));
      if (!Object.is(got, f16(xf)) && !(got === 0 && f16(xf) === 0)) throw new Error(`f16(${xf}): got ${got}, expected ${f16(xf)}`);
    }
    expect(toHalfBits(Infinity)).toBe(0x7c00);
    expect(toHalfBits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
    expect(toHalfBits(-0)).toBe(0x8000);
  });
});
