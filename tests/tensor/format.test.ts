// Printing tensors like PyTorch: the expected strings are torch 1.13's repr() of the same values
// (/usr/bin/python3 -c "import torch; print(repr(...))"), with Kiln's dtype names and camelCase suffixes.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { formatTensor } from '../../src/tensor/format.js';

const f32 = (n: number, fn: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => fn(i));

describe('formatTensor (PyTorch repr)', () => {
  it('fixed, integer and scientific modes, alignment, nan/inf', () => {
    expect(formatTensor(Float32Array.of(1.5, -2.25, 3, 4, 5, 6), [2, 3], 'f32')).toBe('tensor([[ 1.5000, -2.2500,  3.0000],\n        [ 4.0000,  5.0000,  6.0000]])');
    expect(formatTensor(Float32Array.of(1, 2, 3), [3], 'f32', ['requiresGrad=True'])).toBe('tensor([1., 2., 3.], requiresGrad=True)');
    expect(formatTensor(Int32Array.of(1, 2, 300), [3], 'i32', ['dtype=i32'])).toBe('tensor([  1,   2, 300], dtype=i32)');
    expect(formatTensor(Float32Array.of(1e-5, 1, 100), [3], 'f32')).toBe('tensor([1.0000e-05, 1.0000e+00, 1.0000e+02])');
    expect(formatTensor(Float32Array.of(1e9, 1), [2], 'f32')).toBe('tensor([1.0000e+09, 1.0000e+00])');
    expect(formatTensor(Uint32Array.of(1, 0), [2], 'bool', ['dtype=bool'])).toBe('tensor([ True, False], dtype=bool)');
    expect(formatTensor(Float32Array.of(3.5), [], 'f32')).toBe('tensor(3.5000)');
    expect(formatTensor(new Float32Array(0), [0, 3], 'f32')).toBe('tensor([], size=[0, 3])');
    expect(formatTensor(Float32Array.of(NaN, 1.5, Infinity), [3], 'f32')).toBe('tensor([   nan, 1.5000,    inf])');
  });

  it('wraps at 80 columns and nests higher dimensions with blank lines', () => {
    expect(formatTensor(f32(30, (i) => i / 7), [30], 'f32')).toBe(
      'tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n' +
        '        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n' +
        '        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n' +
        '        3.8571, 4.0000, 4.1429])',
    );
    expect(formatTensor(f32(24, (i) => i), [2, 3, 4], 'f32')).toBe(
      'tensor([[[ 0.,  1.,  2.,  3.],\n         [ 4.,  5.,  6.,  7.],\n         [ 8.,  9., 10., 11.]],\n\n' +
        '        [[12., 13., 14., 15.],\n         [16., 17., 18., 19.],\n         [20., 21., 22., 23.]]])',
    );
  });

  it('summarises more than 1000 elements to 3 at each edge', () => {
    expect(formatTensor(f32(2000, (i) => i), [2000], 'f32')).toBe(
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])',
    );
    const rows = (a: number): string => `[${[a, a + 1, a + 2].map((v) => v.toExponential(4).replace(/e\+(\d)$/, 'e+0$1')).join(', ')},  ..., ${[a + 27, a + 28].map((v) => v.toExponential(4).replace(/e\+(\d)$/, 'e+0$1')).join(', ')},\n         ${(a + 29).toExponential(4).replace(/e\+(\d)$/, 'e+0$1')}]`;
    expect(formatTensor(f32(1200, (i) => i), [40, 30], 'f32')).toBe(
      `tensor([${[0, 30, 60].map(rows).join(',\n        ')},\n        ...,\n        ${[1110, 1140, 1170].map(rows).join(',\n        ')}])`,
    );
  });
});

describe('Tensor.format / print / util.inspect', () => {
  it('reads back and names dtype, requiresGrad and the grad function', async () => {
    const x = kiln.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    expect(await x.format()).toBe('tensor([1., 2.], requiresGrad=True)');
    expect(await y.format()).toMatch(/^tensor\(\[2\., 4\.\], gradFn=<\w+>\)$/);
    expect(await kiln.arange(3).format()).toBe('tensor([0, 1, 2], dtype=i32)');
    const shown = inspect(y);
    expect(shown).toMatch(/^Tensor\(shape=\[2\], dtype=f32, requiresGrad=true, gradFn=<\w+>\)$/);
    expect(shown).not.toContain('storage');
    for (const t of [x, y]) t.dispose();
  });
});
