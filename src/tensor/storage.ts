// A GPU buffer shared by a tensor and its views, with a reference count (live views plus tensors saved
// for backward) and the version counter that in-place ops bump.

import { gpu } from '../device/gpu.js';
import { acquireBuffer, releaseBuffer } from '../device/pool.js';

let liveStorageBytes = 0;

export class Storage {
  readonly buffer: GPUBuffer;
  readonly generation: number;
  /** Bumped by every in-place write; saved tensors compare it at backward time. */
  version = 0;
  private refs = 0;
  private released = false;

  constructor(readonly bytes: number) {
    this.buffer = acquireBuffer(Math.max(bytes, 4));
    this.generation = gpu().generation;
    liveStorageBytes += this.buffer.size;
  }

  retain(): void {
    this.refs += 1;
  }

  release(): void {
    this.refs -= 1;
    if (this.refs > 0 || this.released) return;
    this.released = true;
    liveStorageBytes -= this.buffer.size;
    releaseBuffer(this.buffer, undefined, this.generation);
  }

  /** Throws when the device this storage lives on was lost. */
  checkDevice(op: string): void {
    const ctx = gpu(op);
    if (ctx.generation !== this.generation)
      throw new Error(`${op}: this tensor belongs to a WebGPU device that was lost; recreate it after kiln.init()`);
  }
}

export function liveBytes(): number {
  return liveStorageBytes;
}
