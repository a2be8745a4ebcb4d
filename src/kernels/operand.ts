// What a kernel launcher sees of a tensor: a GPU buffer read as a strided view. Kernels know nothing of
// Tensor or autograd.

import type { DType } from './dtype.js';

export interface Operand {
  readonly buffer: GPUBuffer;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Element strides (0 on broadcast axes). */
  readonly strides: readonly number[];
  /** Offset in elements (relative to `window` when one is set). */
  readonly offset: number;
  /** Byte range of the buffer to bind, for buffers larger than a binding may be (see windows.ts). */
  readonly window?: { readonly offset: number; readonly size: number };
}

/** The binding range of an operand: its window, or the whole buffer. */
export function whole(o: Operand): { buffer: GPUBuffer; offset: number; size: number } {
  return { buffer: o.buffer, offset: o.window?.offset ?? 0, size: o.window?.size ?? o.buffer.size };
}

export function isContiguous(o: Pick<Operand, 'shape' | 'strides'>): boolean {
  let s = 1;
  for (let i = o.shape.length - 1; i >= 0; i--) {
    if (o.shape[i] !== 1 && o.strides[i] !== s) return false;
    s *= o.shape[i]!;
  }
  return true;
}

/** Packs u32/i32/f32 values into a uniform block laid out as consecutive 4-byte words. */
export class UniformWriter {
  private readonly buf = new ArrayBuffer(256);
  private readonly u = new Uint32Array(this.buf);
  private readonly i = new Int32Array(this.buf);
  private readonly f = new Float32Array(this.buf);
  private n = 0;
  u32(...v: number[]): this {
    for (const x of v) this.u[this.n++] = x >>> 0;
    return this;
  }
  i32(...v: number[]): this {
    for (const x of v) this.i[this.n++] = x;
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) this.f[this.n++] = x;
    return this;
  }
  /** A scalar in the bit pattern of a compute type. */
  scalar(x: number, type: 'f32' | 'i32' | 'u32'): this {
    return type === 'f32' ? this.f32(x) : type === 'i32' ? this.i32(x) : this.u32(x);
  }
  /** Pads to a multiple of 4 words (vec4 alignment). */
  align4(): this {
    while (this.n % 4 !== 0) this.u[this.n++] = 0;
    return this;
  }
  /** `count` u32s from `v`, zero-filled, padded to vec4s: matches `array<vec4<u32>, count/4>`. */
  vecU32(v: readonly number[], count: number): this {
    this.align4();
    for (let k = 0; k < count; k++) this.u[this.n++] = (v[k] ?? 0) >>> 0;
    return this;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.buf, 0, Math.ceil(this.n / 4) * 16);
  }
}

/**
 * Merges adjacent axes that every operand walks contiguously (stride[i] = stride[i+1]·shape[i+1]), and drops
 * size-1 axes, so most kernels see rank 1 or 2. Returns the coalesced shape and strides per operand.
 */
export function coalesce(shape: readonly number[], stridesList: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i]!;
    if (s === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && stridesList.every((st, k) => outStrides[k]![last] === st[i]! * s)) {
      outShape[last] = outShape[last]! * s;
      stridesList.forEach((st, k) => (outStrides[k]![last] = st[i]!));
    } else {
      outShape.push(s);
      stridesList.forEach((st, k) => outStrides[k]!.push(st[i]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}
