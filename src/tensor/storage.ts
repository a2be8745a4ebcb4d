// A GPU buffer shared by a tensor and its views, with a reference count (live views plus tensors saved
// for backward) and the version counter that in-place ops bump. A meta storage (PyTorch's meta device) has
// a size but no buffer: the tensors on it are shapes only, and any op that reaches its buffer throws.

import { gpu } from '../device/gpu.js';
import { acquireBuffer, releaseBuffer } from '../device/pool.js';

let liveStorageBytes = 0;

export class Storage {
  private readonly gpuBuffer: GPUBuffer | null;
  readonly generation: number;
  /** Bumped by every in-place write; saved tensors compare it at backward time. */
  version = 0;
  private refs = 0;
  private released = false;

  constructor(
    readonly bytes: number,
    /** Shape-only storage: no GPU memory (PyTorch's meta device). */
    readonly meta = false,
  ) {
    this.gpuBuffer = meta ? null : acquireBuffer(Math.max(bytes, 4));
    this.generation = meta ? -1 : gpu().generation;
    if (this.gpuBuffer) liveStorageBytes += this.gpuBuffer.size;
  }

  get buffer(): GPUBuffer {
    if (!this.gpuBuffer) throw new Error('a meta tensor has no data: materialise it (module.toEmpty(), or load weights) before using it');
    return this.gpuBuffer;
  }

  retain(): void {
    this.refs += 1;
  }

  release(): void {
    this.refs -= 1;
    if (this.refs > 0 || this.released) return;
    this.released = true;
    if (!this.gpuBuffer) return;
    liveStorageBytes -= this.gpuBuffer.size;
    releaseBuffer(this.gpuBuffer, undefined, this.generation);
  }

  /** Throws when the device this storage lives on was lost. */
  checkDevice(op: string): void {
    if (this.meta) return;
    const ctx = gpu(op);
    if (ctx.generation !== this.generation)
      throw new Error(`${op}: this tensor belongs to a WebGPU device that was lost; recreate it after kiln.init()`);
  }
}

export function liveBytes(): number {
  return liveStorageBytes;
}
