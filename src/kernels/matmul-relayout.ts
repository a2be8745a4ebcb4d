// Relayout before a register-blocked matmul: when one operand of a shared (unbatched or broadcast) matrix
// is stored with k along its slow axis — Linear's x·Wᵀ reads W [out, in] as Wᵀ — the blocked kernels fall
// back to their per-element `main_scalar` entry. Copying that matrix once into a contiguous scratch lets
// them take `main_vec4`; the products and their summation order are the same (bitwise), only the loads
// change. Taken only where the copy is small against the product (bench/NOTES.md, issue 19).

import { acquireBuffer, releaseBuffer } from '../device/pool.js';
import { byteSize } from './dtype.js';
import { type ElementwiseKernel, runElementwise } from './elementwise.js';
import type { MatmulProblem } from './matmul.js';
import type { Operand } from './operand.js';

const COPY: ElementwiseKernel = { name: 'matmul-relayout', expr: 'a0', compute: 'f32', result: 'f32' };

/**
 * Product flops per copied element below which the copy is not worth it: measured on the software
 * adapter, a strided copy costs ~30 ns an element and main_vec4 saves ~0.15 ns per multiply-add against
 * main_scalar, so the break-even is ~200 multiply-adds per copied element; 512 leaves a margin.
 */
const MIN_FMAS_PER_COPIED = 512;

/** `o` ([..., R, C], all batch strides 0 or extent 1) copied into a contiguous [R, C] scratch, re-broadcast. */
function contiguousMatrix(o: Operand): { op: Operand; buffer: GPUBuffer } {
  const r = o.shape.length;
  const [R, C] = [o.shape[r - 2]!, o.shape[r - 1]!];
  const buffer = acquireBuffer(Math.max(16, R * C * byteSize(o.dtype)));
  const dst: Operand = { buffer, dtype: o.dtype, shape: [R, C], strides: [C, 1], offset: 0 };
  runElementwise(COPY, dst, [{ ...o, shape: [R, C], strides: [o.strides[r - 2]!, o.strides[r - 1]!] }]);
  return { op: { buffer, dtype: o.dtype, shape: o.shape, strides: [...o.shape.slice(0, r - 2).map(() => 0), C, 1], offset: 0 }, buffer };
}

const shared = (o: Operand): boolean => o.shape.slice(0, -2).every((n, i) => n === 1 || o.strides[i] === 0);

/**
 * Runs `run` on `p`, or on a copy of `p` with one operand made contiguous when that turns a k-major
 * operand into the layout the vec4 kernel reads (A contiguous in k, B contiguous in n). Only a matrix
 * shared by the whole batch is copied (Linear's weight), so the copy is M× smaller than the product.
 */
export function withVec4Layout(p: MatmulProblem, run: (p: MatmulProblem) => void): void {
  const r = p.a.shape.length;
  const [M, K, N] = [p.a.shape[r - 2]!, p.a.shape[r - 1]!, p.b.shape[r - 1]!];
  const batch = p.out.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const fmas = batch * M * N * K;
  const [acs, brs, bcs] = [p.a.strides[r - 1]!, p.b.strides[r - 2]!, p.b.strides[r - 1]!];
  // A is read along k already; B is k-major (a transposed weight): copy B to [K, N] row-major.
  if (acs === 1 && bcs !== 1 && brs === 1 && K % 4 === 0 && N % 4 === 0 && shared(p.b) && K * N * MIN_FMAS_PER_COPIED <= fmas) {
    const { op, buffer } = contiguousMatrix(p.b);
    run({ ...p, b: op });
    releaseBuffer(buffer);
    return;
  }
  run(p);
}
