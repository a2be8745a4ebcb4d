// Bad input: every refusal names the op and states the shapes or values involved; ops refuse synchronously,
// readbacks (data, item) by rejecting.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { disposeAfterEach } from '../helpers/inputs.js';

const keep = disposeAfterEach();

describe('shape errors', () => {
  it('broadcasting mismatch names the op and both shapes', () => {
    const a = keep(kiln.zeros([2, 3]));
    const b = keep(kiln.zeros([4, 3]));
    expect(() => a.add(b)).toThrow('add: shapes [2,3] and [4,3] cannot be broadcast (dimension 0: 2 vs 4)');
    expect(() => kiln.mul(a, keep(kiln.zeros([2])))).toThrow(/mul: shapes \[2,3\] and \[2\] cannot be broadcast/);
    expect(() => a.lt(keep(kiln.zeros([5])))).toThrow(/lt: shapes \[2,3\] and \[5\]/);
    expect(() => kiln.where(keep(a.gt(0)), a, keep(kiln.zeros([7])))).toThrow(/where: shapes \[2,3\] and \[7\]/);
    expect(() => a.expand([4, 3])).toThrow(/expand: the expanded size of the tensor \(4\) must match the existing size \(2\) at non-singleton dimension 0/);
  });

  it('matmul inner dimensions', () => {
    const a = keep(kiln.zeros([2, 3]));
    const b = keep(kiln.zeros([4, 5]));
    expect(() => a.matmul(b)).toThrow('matmul: inner dimensions differ: [2,3] @ [4,5]');
    expect(() => kiln.matmul(a, keep(kiln.zeros([2])))).toThrow('matmul: inner dimensions differ: [2,3] @ [2]');
    expect(() => kiln.matmul(keep(kiln.tensor(1)), a)).toThrow(/matmul: both arguments need at least 1 dimension, got \[\] @ \[2,3\]/);
  });

  it('out-of-range axes name the op and the valid range', () => {
    const x = keep(kiln.zeros([2, 3]));
    expect(() => x.sum(2)).toThrow('sum: dimension out of range (expected to be in range of [-2, 1], but got 2)');
    expect(() => x.mean(-3)).toThrow(/mean: dimension out of range .*got -3/);
    expect(() => x.max([0, 0])).toThrow(/amax: dimension appears more than once in \[0,0\]/);
    expect(() => x.argmax(5)).toThrow(/argmax: dimension out of range/);
    expect(() => x.var(1.5)).toThrow(/var: dimension must be an integer, got 1.5/);
    expect(() => x.permute([0, 2])).toThrow(/permute: dimension out of range/);
    expect(() => x.permute([0])).toThrow(/permute: number of dims don't match: input has 2 dimensions \[2,3\], dims has 1 \[0\]/);
    expect(() => x.permute([1, 1])).toThrow(/permute: repeated dim in \[1,1\]/);
    expect(() => x.transpose(0, 2)).toThrow(/transpose: dimension out of range/);
    expect(() => x.slice(3, 0, 1)).toThrow(/slice: dimension out of range/);
    expect(() => x.slice(0, 0, 1, 0)).toThrow(/slice: step must be a positive integer, got 0/);
    expect(() => x.slice(0, 0, 1, -1)).toThrow(/slice: step must be a positive integer, got -1/);
    expect(() => x.select(1, 3)).toThrow('select: index 3 out of range for dimension 1 with size 3');
    expect(() => x.select(0, -3)).toThrow(/select: index -3 out of range/);
    expect(() => x.narrow(1, 2, 2)).toThrow(/narrow: start \(2\) \+ length \(2\) exceeds dimension size \(3\) of \[2,3\]/);
    expect(() => x.unsqueeze(3)).toThrow(/unsqueeze: dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)/);
    expect(() => x.squeeze(2)).toThrow(/squeeze: dimension out of range/);
    expect(() => x.flatten(1, 0)).toThrow(/flatten: start_dim \(1\) cannot come after end_dim \(0\)/);
    expect(() => x.size(2)).toThrow(/size: dimension 2 out of range for shape \[2,3\]/);
    expect(() => keep(kiln.zeros([2, 3, 4])).t()).toThrow(/t: expects a tensor with <= 2 dimensions, but got 3-D \[2,3,4\]/);
    expect(() => x.chunk(0)).toThrow(/chunk: chunks must be a positive integer, got 0/);
    expect(() => x.split([1, 2])).toThrow(/split: split sizes \[1,2\] sum to 3, but dimension 0 has size 2/);
    expect(() => x.split(0)).toThrow(/split: split_size must be a positive integer, got 0/);
  });

  it('negative or non-integer sizes', () => {
    expect(() => kiln.zeros([2, -1])).toThrow('zeros: sizes must be non-negative integers, got [2,-1]');
    expect(() => kiln.ones([1.5])).toThrow(/ones: sizes must be non-negative integers, got \[1.5\]/);
    expect(() => kiln.rand([3, -2])).toThrow(/rand: sizes must be non-negative integers, got \[3,-2\]/);
    expect(() => kiln.randn([NaN])).toThrow(/randn: sizes must be non-negative integers/);
    expect(() => kiln.eye(-1)).toThrow(/eye: sizes must be non-negative integers, got \[-1,-1\]/);
    expect(() => kiln.tensor([1, 2], { shape: [-2, -1] })).toThrow(/tensor: sizes must be non-negative integers, got \[-2,-1\]/);
    const x = keep(kiln.zeros([6]));
    expect(() => x.reshape([2, -3])).toThrow(/reshape: invalid size -3 in \[2,-3\]/);
    expect(() => x.reshape([2.5, 2])).toThrow(/reshape: invalid size 2.5/);
    expect(() => x.expand([-2])).toThrow(/expand: invalid size -2 at dimension 0 of \[-2\]/);
    expect(() => kiln.arange(0, 5, 0)).toThrow('arange: step must be nonzero');
    expect(() => kiln.arange(5, 0, 1)).toThrow(/arange: upper bound and larger bound inconsistent with step sign \(5, 0, 1\)/);
    expect(() => kiln.arange(0, Infinity)).toThrow(/arange: bounds must be finite/);
  });

  it('data length not matching the shape; ragged nested data; bad dtypes', () => {
    expect(() => kiln.tensor([1, 2, 3], { shape: [2, 2] })).toThrow('tensor: data has 3 elements but shape [2,2] needs 4');
    expect(() => kiln.tensor(new Float32Array(5), { shape: [2, 3] })).toThrow(/tensor: data has 5 elements but shape \[2,3\] needs 6/);
    expect(() => kiln.tensor([[1, 2], [3]])).toThrow(/tensor: nested data is ragged: expected a list of length 2 at depth 1 for shape \[2,2\]/);
    expect(() => kiln.tensor([[1, 2], 3] as never)).toThrow(/tensor: nested data is ragged/);
    expect(() => kiln.tensor('abc' as never)).toThrow(/tensor: expected nested arrays, a typed array or a number, got string/);
    expect(() => kiln.zeros([2], { dtype: 'f64' as never })).toThrow(/zeros: unknown dtype 'f64' \(expected f32, f16, i32, u32 or bool\)/);
  });

  it('reshape/view with the wrong number of elements', () => {
    const x = keep(kiln.zeros([2, 3]));
    expect(() => x.reshape([4, 2])).toThrow('reshape: shape [4,2] is invalid for input of size 6 (shape [2,3])');
    expect(() => x.view([5])).toThrow(/view: shape \[5\] is invalid for input of size 6/);
    expect(() => x.reshape([-1, 4])).toThrow(/reshape: shape \[-1,4\] is invalid for input of size 6/);
    expect(() => x.reshape([-1, -1])).toThrow(/reshape: only one dimension can be -1, got \[-1,-1\]/);
    expect(() => x.flatten().view([7])).toThrow(/view/);
  });

  it('scalar arguments that are not numbers, and ops on no tensors', async () => {
    const x = keep(kiln.zeros([2]));
    expect(() => x.add('1' as never)).toThrow(/add_scalar: expected a Tensor or a number, got string/);
    expect(() => kiln.add(1, 2)).toThrow('add: at least one argument must be a Tensor');
    expect(() => kiln.mul(1, 2)).toThrow('mul: at least one argument must be a Tensor');
    expect(() => x.clamp()).toThrow(/clamp: at least one of 'min' or 'max' must not be None/);
    await expect(keep(kiln.zeros([2, 2])).item()).rejects.toThrow(/item: a Tensor with 4 elements cannot be converted to a scalar \(shape \[2,2\]\)/);
    expect(() => kiln.manualSeed(-1)).toThrow(/manualSeed: seed must be a non-negative safe integer, got -1/);
    expect(() => kiln.setRngState({ seed: 1, offset: -5 })).toThrow(/setRngState: invalid state/);
    expect(() => keep(kiln.zeros([0, 3])).max(0)).toThrow(/amax: expected reduction dims \[0\] of shape \[0,3\] to have non-zero size/);
    expect(() => keep(kiln.zeros([0])).argmax()).toThrow(/argmax: expected a non-empty tensor, got shape \[0\]/);
  });
});

describe('mixed dtypes', () => {
  it('matmul refuses mixed and integer dtypes, in-place refuses float into int', () => {
    const f = keep(kiln.zeros([2, 2]));
    const i = keep(kiln.zeros([2, 2], { dtype: 'i32' }));
    expect(() => f.matmul(i)).toThrow(/matmul: expected both operands to have the same dtype, but got f32 @ i32/);
    expect(() => i.mul_(f)).toThrow(/mul_: result type f32 can't be cast to the desired output type i32/);
    expect(() => i.copy_(keep(kiln.zeros([3])))).toThrow(/copy_: shapes \[2,2\] and \[3\] cannot be broadcast/);
    expect(() => keep(kiln.zeros([2])).copy_(keep(kiln.zeros([2, 2])))).toThrow(/copy_: source of shape \[2,2\] cannot be broadcast to destination \[2\]/);
  });
});

describe('disposed tensors', () => {
  it('every use of a disposed tensor names the op', async () => {
    const x = kiln.zeros([2, 3]);
    const y = keep(kiln.ones([2, 3]));
    x.dispose();
    x.dispose(); // idempotent
    expect(x.isDisposed).toBe(true);
    expect(() => x.add(y)).toThrow('add: tensor [2,3] (f32) was disposed and cannot be used');
    expect(() => y.mul(x)).toThrow(/mul: tensor \[2,3\] \(f32\) was disposed/);
    expect(() => x.exp()).toThrow(/exp: tensor \[2,3\] \(f32\) was disposed/);
    expect(() => x.sum()).toThrow(/sum: .*disposed/);
    expect(() => x.reshape([6])).toThrow(/reshape: .*disposed/);
    expect(() => x.t()).toThrow(/permute: .*disposed/);
    expect(() => x.matmul(y.t())).toThrow(/matmul: .*disposed/);
    expect(() => x.cast('i32')).toThrow(/cast: .*disposed/);
    expect(() => x.add_(1)).toThrow(/add_: .*disposed/);
    expect(() => y.copy_(x)).toThrow(/copy_: .*disposed/);
    expect(() => x.detach()).toThrow(/detach: .*disposed/);
    expect(() => kiln.where(keep(y.gt(0)), x, 0)).toThrow(/where: .*disposed/);
    await expect(x.data()).rejects.toThrow(/data: tensor \[2,3\] \(f32\) was disposed/);
    expect(() => x.backward()).toThrow(/backward: .*disposed/);
  });
});

describe('f16 availability', () => {
  it('f16 creation and casts check the adapter feature (the error path exists)', async () => {
    // This adapter may have shader-f16; the refusal is then exercised through its message source.
    if (!kiln.deviceInfo().features.includes('shader-f16')) {
      expect(() => kiln.zeros([2], { dtype: 'f16' })).toThrow(/full: dtype f16 needs the adapter feature 'shader-f16'/);
      expect(() => keep(kiln.zeros([2])).cast('f16')).toThrow(/cast: dtype f16 needs the adapter feature 'shader-f16'/);
      return;
    }
    const src = await import('node:fs/promises').then((fs) => fs.readFile(new URL('../../src/tensor/alloc.ts', import.meta.url), 'utf8'));
    expect(src).toContain("dtype f16 needs the adapter feature 'shader-f16'");
    expect(keep(kiln.zeros([2], { dtype: 'f16' })).dtype).toBe('f16');
  });
});
