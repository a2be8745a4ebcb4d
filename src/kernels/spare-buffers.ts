// Distinct small GPU buffers bound in the unused writable slots of a multi-tensor kernel (adamw_multi,
// flag_count): WebGPU refuses one buffer in two writable bindings of a dispatch, so a slot left empty
// cannot repeat a live one. Made once per device and never released, so a training step creates none.

import { gpu } from '../device/gpu.js';
import { acquireBuffer } from '../device/pool.js';

let spares: GPUBuffer[] = [];
let generation = -1;

/** `n` distinct 256-byte storage buffers (the same ones on every call for this device). */
export function spareBuffers(n: number): readonly GPUBuffer[] {
  const g = gpu().generation;
  if (g !== generation) {
    spares = [];
    generation = g;
  }
  while (spares.length < n) spares.push(acquireBuffer(256));
  return spares.slice(0, n);
}
