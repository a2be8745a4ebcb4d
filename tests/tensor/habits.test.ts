// PyTorch habits at run time: varargs shapes, a shape where options belong, init() with other options,
// non-tensor operands and unknown dtypes — each an exact result or an error naming the op and the value.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

describe('PyTorch habits', () => {
  it('zeros/ones/empty/rand/randn take sizes as separate numbers, with or without options', async () => {
    const made = [kiln.zeros(2, 3), kiln.ones(2, 3, { dtype: 'i32' }), kiln.empty(4), kiln.rand(2, 1, 3), kiln.randn(5, { requiresGrad: true })];
    expect(made.map((t) => [t.shape, t.dtype])).toEqual([
      [[2, 3], 'f32'],
      [[2, 3], 'i32'],
      [[4], 'f32'],
      [[2, 1, 3], 'f32'],
      [[5], 'f32'],
    ]);
    expect(made[4]!.requiresGrad).toBe(true);
    expect(Array.from(await made[1]!.data())).toEqual([1, 1, 1, 1, 1, 1]);
    for (const t of made) t.dispose();
  });

  it('refuses shapes it cannot read, naming the op and the arguments', () => {
    expect(() => kiln.zeros('2' as never)).toThrow("zeros: expected a shape as an array or as sizes (kiln.zeros([2, 3]) or kiln.zeros(2, 3)), optionally followed by options; got ('2')");
    expect(() => kiln.ones([2] as never, 3)).toThrow(/ones: expected a shape .* got \(\[2\], 3\)/);
    expect(() => kiln.randn(2, -1)).toThrow('randn: sizes must be non-negative integers, got [2,-1]');
    expect(() => kiln.full(2 as never, 7)).toThrow('full: shape must be an array of sizes (kiln.full([2, 3], 7)), got 2');
  });

  it('tensor(v, [2, 3]) is an error, never a silent reshape or [6]', () => {
    expect(() => kiln.tensor([1, 2, 3, 4, 5, 6], [2, 3] as never)).toThrow(
      'tensor: the second argument is the options object, got [2, 3]; to give a shape write kiln.tensor(data, { shape: [2, 3] })',
    );
  });

  it('a second init() with different options is an error; without options it returns the live device', async () => {
    const info = kiln.deviceInfo();
    expect((await kiln.init()).generation).toBe(info.generation);
    await expect(kiln.init({ powerPreference: 'low-power' })).rejects.toThrow(
      "kiln.init: the device was already created with other options (powerPreference 'high-performance' → 'low-power')",
    );
    await expect(kiln.init({ f16: false })).rejects.toThrow(/f16 true → false/);
    expect((await kiln.init({ f16: true })).generation).toBe(info.generation);
  });

  it('matmul with a non-tensor and cast to an unknown dtype name the op and the value', () => {
    const t = kiln.ones(2, 2);
    expect(() => kiln.matmul(t, 'x' as never)).toThrow("matmul: expected a Tensor as the second operand, got 'x' (a string)");
    expect(() => t.matmul([1, 2] as never)).toThrow('matmul: expected a Tensor as the second operand, got [1, 2]');
    expect(() => t.cast('f64' as never)).toThrow("cast: unknown dtype 'f64' (expected f32, f16, i32, u32 or bool)");
    expect(() => kiln.cast(t, 'float32' as never)).toThrow(/cast: unknown dtype 'float32'/);
    t.dispose();
  });
});
