// The kernels of dynamic int8 quantisation (kiln.quantize): per-row symmetric quantisation of an f32 matrix
// into packed int8 words, and the int8 matmul with its f32 dequantise + bias epilogue, on WGSL's packed 4×8-bit
// dot product or an unpacking fallback. This file declares bindings, uniforms and grids; src/quantize
// launches them through kiln.customOp (it is not a tensor op of its own: the op has no gradient).

import type { BindingKind } from '../device/pipelines.js';
import { UniformWriter } from './operand.js';
import { wgslFile } from './source.js';

const quantizeRowsSource = wgslFile('quantize_rows_int8', new URL('./wgsl/quantize_rows_int8.wgsl', import.meta.url));
const matmulSource = wgslFile('matmul_int8', new URL('./wgsl/matmul_int8.wgsl', import.meta.url));
const dotPacked = wgslFile('int8_dot_packed', new URL('./wgsl/int8_dot_packed.wgsl', import.meta.url));
const dotUnpacked = wgslFile('int8_dot_unpacked', new URL('./wgsl/int8_dot_unpacked.wgsl', import.meta.url));

/** The WGSL language feature behind dot4I8Packed. */
export const PACKED_DOT_FEATURE = 'packed_4x8_integer_dot_product';

/** How the int8 matmul multiplies packed bytes: dot4I8Packed, or by unpacking them into vec4<i32>. */
export type Int8DotProduct = 'packed' | 'unpacked';

/** A kernel as kiln.customOp takes it. */
export interface Int8Kernel {
  readonly code: string;
  readonly bindings: readonly BindingKind[];
}

export interface Int8Launch {
  readonly uniforms: Uint8Array;
  readonly workgroups: [number, number, number];
}

/** Words of four packed int8 values per row of `cols` columns. */
export function packedWords(cols: number): number {
  return Math.ceil(cols / 4);
}

/** Bindings: q (write, u32 [rows, words]), scale (write, f32 [rows]), x (read, f32 [rows, cols]), uniforms. */
export function quantizeRowsKernel(): Int8Kernel {
  return { code: quantizeRowsSource.text(), bindings: ['write', 'write', 'read', 'uniform'] };
}

export function quantizeRowsLaunch(rows: number, cols: number, maxGrid: number): Int8Launch {
  const groups = Math.ceil(rows / 64);
  const y = Math.ceil(groups / maxGrid);
  if (y > maxGrid) throw new Error(`quantize: ${rows} rows exceed the adapter's dispatch grid`);
  return { uniforms: new UniformWriter().u32(rows, cols, packedWords(cols), 0).bytes(), workgroups: [Math.max(1, Math.ceil(groups / y)), y, 1] };
}

/** Bindings: y (write, f32 [M, N]), xq, xs, wq, ws, bias (read), uniforms. */
export function matmulInt8Kernel(dot: Int8DotProduct): Int8Kernel {
  const lib = dot === 'packed' ? dotPacked : dotUnpacked;
  return { code: `${lib.text()}\n${matmulSource.text()}`, bindings: ['write', 'read', 'read', 'read', 'read', 'read', 'uniform'] };
}

export function matmulInt8Launch(M: number, N: number, cols: number, hasBias: boolean, maxGrid: number): Int8Launch {
  const gx = Math.ceil(N / 32);
  const gy = Math.ceil(M / 32);
  if (gx > maxGrid || gy > maxGrid) throw new Error(`quantize: an int8 matmul of [${M}, ${cols}] × [${cols}, ${N}] exceeds the adapter's dispatch grid (${maxGrid} per dimension)`);
  return { uniforms: new UniformWriter().u32(M, N, packedWords(cols), hasBias ? 1 : 0).bytes(), workgroups: [Math.max(1, gx), Math.max(1, gy), 1] };
}
