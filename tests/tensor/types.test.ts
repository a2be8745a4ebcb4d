// The dtype type parameter: creation functions and same-dtype ops state their dtype, so data() has a
// precise type without a cast. These are compile-time checks (npm run typecheck) plus a run-time spot check.
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as kiln from '../../src/node.js';

describe('Tensor<D> typing', () => {
  it('creation functions and same-dtype ops keep the dtype in the type', () => {
    kiln.tidy(() => {
      const x = kiln.randn([2]);
      expectTypeOf(x).toEqualTypeOf<kiln.Tensor<'f32'>>();
      expectTypeOf(x.data()).resolves.toEqualTypeOf<Float32Array>();
      expectTypeOf(kiln.zeros(2, 3)).toEqualTypeOf<kiln.Tensor<'f32'>>();
      expectTypeOf(kiln.ones([2], { dtype: 'i32' }).data()).resolves.toEqualTypeOf<Int32Array>();
      // f16 as types only: the adapter running the tests may lack shader-f16.
      expectTypeOf<Awaited<ReturnType<kiln.Tensor<'f16'>['rawData']>>>().toEqualTypeOf<Uint16Array>();
      expectTypeOf<Awaited<ReturnType<kiln.Tensor<'f16'>['data']>>>().toEqualTypeOf<Float32Array>();
      expectTypeOf(kiln.tensor([1, 2])).toEqualTypeOf<kiln.Tensor<'f32'>>();
      expectTypeOf(kiln.tensor(new Int32Array(2))).toEqualTypeOf<kiln.Tensor<'i32'>>();
      expectTypeOf(kiln.tensor([true])).toEqualTypeOf<kiln.Tensor<'bool'>>();
      expectTypeOf(kiln.tensor([1], { dtype: 'u32' })).toEqualTypeOf<kiln.Tensor<'u32'>>();
      expectTypeOf(x.add(1).mul(x).exp().reshape([2, 1]).sum()).toEqualTypeOf<kiln.Tensor<'f32'>>();
      expectTypeOf(kiln.matmul(kiln.randn(2, 3), kiln.randn(3, 4))).toEqualTypeOf<kiln.Tensor<'f32'>>();
      expectTypeOf(x.gt(0)).toEqualTypeOf<kiln.Tensor<'bool'>>();
      expectTypeOf(x.argmax()).toEqualTypeOf<kiln.Tensor<'i32'>>();
      expectTypeOf(x.cast('i32').exp()).toEqualTypeOf<kiln.Tensor<'f32'>>();
      // Anything that may promote is the DType union, whose data() is the union of arrays.
      expectTypeOf(kiln.arange(3).add(0.5).data()).resolves.toEqualTypeOf<Float32Array | Int32Array | Uint32Array>();
      expectTypeOf(x.grad).toEqualTypeOf<kiln.Tensor<'f32'> | null>();
    });
  });

  it('data() of a typed tensor is that array at run time', async () => {
    const x = kiln.randn(2);
    const v: Float32Array = await x.data();
    expect(v).toBeInstanceOf(Float32Array);
    x.dispose();
  });
});
