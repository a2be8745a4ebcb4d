// Command batching: every dispatch, copy and upload is recorded into one shared command encoder and
// submitted in batches (a readback or flush() submits). Uniforms and small uploads are staged in arenas
// whose contents are written with queue.writeBuffer just before the submit that reads them, so a write
// never overtakes a recorded command that still reads the old contents of a recycled buffer.

import { MAP_READ_MODE, Usage } from './constants.js';
import { counters } from './counters.js';
import { gpu, takeUncapturedErrors } from './gpu.js';
import { type BufferRange, type KernelSpec, checkCompiles, getBindGroup, getPipeline } from './pipelines.js';
import { acquireBuffer, releaseBuffer } from './pool.js';
import { type DispatchWork, probe } from './probe.js';

/** Bytes of one uniform slot: every kernel's uniform block fits in it. */
export const UNIFORM_SLOT = 256;
const UNIFORM_ARENA = 512 * 1024;
const UPLOAD_ARENA = 4 * 1024 * 1024;
const MAX_DISPATCHES_PER_BATCH = 1024;
const READ_USAGE = Usage.MAP_READ | Usage.COPY_DST;

/** CPU-side bytes that are written into a GPU buffer at submit time. */
class Arena {
  readonly cpu: Uint8Array<ArrayBuffer>;
  used = 0;
  private gpuBuffer: GPUBuffer | null = null;
  private generation = -1;
  constructor(
    readonly capacity: number,
    readonly usage: number,
    readonly label: string,
  ) {
    this.cpu = new Uint8Array(capacity);
  }
  buffer(): GPUBuffer {
    const ctx = gpu();
    if (this.gpuBuffer === null || this.generation !== ctx.generation) {
      this.gpuBuffer = ctx.device.createBuffer({ size: this.capacity, usage: this.usage, label: this.label });
      counters.buffersCreated += 1;
      this.generation = ctx.generation;
    }
    return this.gpuBuffer;
  }
  /** Reserves `bytes` (aligned to 256); returns the offset or -1 when the arena is full. */
  reserve(bytes: number): number {
    const off = this.used;
    const end = off + Math.ceil(bytes / 256) * 256;
    if (end > this.capacity) return -1;
    this.used = end;
    return off;
  }
  writeOut(queue: GPUQueue): void {
    if (this.used > 0) queue.writeBuffer(this.buffer(), 0, this.cpu, 0, this.used);
    this.used = 0;
  }
}

const uniforms = new Arena(UNIFORM_ARENA, Usage.UNIFORM | Usage.COPY_DST, 'kiln-uniforms');
const uploads = new Arena(UPLOAD_ARENA, Usage.COPY_SRC | Usage.COPY_DST, 'kiln-uploads');
let encoder: GPUCommandEncoder | null = null;
let pass: GPUComputePassEncoder | null = null;
/** The device generation the pending commands were recorded for; a new device drops them. */
let encoderGeneration = -1;
let recorded = 0;

/** Forgets commands recorded for a device that is gone (they can never run). */
function dropStale(): void {
  const g = gpu().generation;
  if (encoderGeneration === g) return;
  encoder = null;
  pass = null;
  recorded = 0;
  uniforms.used = 0;
  uploads.used = 0;
  encoderGeneration = g;
}

function getEncoder(): GPUCommandEncoder {
  dropStale();
  if (encoder === null) encoder = gpu().device.createCommandEncoder({ label: 'kiln-batch' });
  return encoder;
}

function endPass(): void {
  if (pass !== null) {
    pass.end();
    pass = null;
  }
}

/** Submits everything recorded so far. */
export function flush(): void {
  dropStale();
  if (encoder === null && uniforms.used === 0 && uploads.used === 0) return;
  const { device } = gpu();
  endPass();
  uniforms.writeOut(device.queue);
  uploads.writeOut(device.queue);
  if (encoder !== null) {
    device.queue.submit([encoder.finish()]);
    counters.submits += 1;
    probe.recorder?.submitted();
  }
  encoder = null;
  recorded = 0;
}

/** Splits a workgroup count over x and y when it passes the per-dimension limit. */
export function grid(workgroups: number): [number, number, number] {
  const max = gpu().info.limits['maxComputeWorkgroupsPerDimension'] ?? 65535;
  if (workgroups <= max) return [Math.max(workgroups, 1), 1, 1];
  const y = Math.ceil(workgroups / max);
  if (y > max) throw new Error(`kiln: dispatch of ${workgroups} workgroups exceeds the adapter's grid`);
  return [Math.ceil(workgroups / y), y, 1];
}

export interface Dispatch {
  readonly kernel: KernelSpec;
  /** Storage bindings in binding order (the uniform block goes where `kernel.bindings` lists 'uniform', else last). */
  readonly buffers: readonly BufferRange[];
  /** Contents of the uniform block (≤ 256 bytes). */
  readonly uniforms?: ArrayBuffer | ArrayBufferView;
  readonly workgroups: readonly [number, number, number];
  /** What the op does, for kiln.profile's table (op name, shapes, flops or bytes). */
  readonly work?: DispatchWork;
}

/** Records one compute dispatch into the current batch. */
/** The binding of a dispatch's uniform block: where its kernel lists 'uniform', else after the storage buffers. */
function uniformAt(d: Dispatch): number {
  const at = d.kernel.bindings.indexOf('uniform');
  return at < 0 ? d.buffers.length : at;
}

export function dispatch(d: Dispatch): void {
  const rec = probe.recorder;
  dropStale();
  const limit = gpu().info.limits['maxStorageBufferBindingSize'] ?? Infinity;
  for (const r of d.buffers)
    if (r.size > limit)
      throw new Error(
        `kiln: kernel '${d.kernel.name}' would bind ${r.size} bytes of one buffer, more than the adapter's ` +
          `maxStorageBufferBindingSize (${limit}); this op does not split tensors that large yet`,
      );
  const p = getPipeline(d.kernel);
  const ranges = [...d.buffers];
  const dynamicOffsets: number[] = [];
  if (d.uniforms !== undefined) {
    const bytes = ArrayBuffer.isView(d.uniforms)
      ? new Uint8Array(d.uniforms.buffer, d.uniforms.byteOffset, d.uniforms.byteLength)
      : new Uint8Array(d.uniforms);
    if (bytes.byteLength > UNIFORM_SLOT)
      throw new Error(`kiln: kernel '${d.kernel.name}' uniform block is ${bytes.byteLength} bytes (max ${UNIFORM_SLOT})`);
    let off = uniforms.reserve(UNIFORM_SLOT);
    if (off < 0) {
      flush();
      off = uniforms.reserve(UNIFORM_SLOT);
    }
    uniforms.cpu.set(bytes, off);
    uniforms.cpu.fill(0, off + bytes.byteLength, off + UNIFORM_SLOT);
    // The uniform takes the binding its kind is listed at (last for most kernels; a kernel may bind
    // optional storage after it, as the matmul epilogue does).
    ranges.splice(uniformAt(d), 0, { buffer: uniforms.buffer(), offset: 0, size: UNIFORM_SLOT });
    dynamicOffsets.push(off);
  }
  const bg = getBindGroup(p, ranges);
  if (rec !== null) {
    // While profiling, each dispatch gets its own pass, which carries its timestamp writes.
    endPass();
    pass = getEncoder().beginComputePass(rec.beginDispatch({ kernel: d.kernel.name, work: d.work, workgroups: d.workgroups, pipeline: p, buffers: d.buffers, uniforms: d.uniforms, uniformAt: uniformAt(d) }));
  } else if (pass === null) pass = getEncoder().beginComputePass();
  pass.setPipeline(p.pipeline);
  pass.setBindGroup(0, bg, dynamicOffsets);
  const [x, y, z] = d.workgroups;
  pass.dispatchWorkgroups(x, y, z);
  counters.dispatches += 1;
  if (rec !== null) {
    endPass();
    rec.endDispatch();
  }
  if (++recorded >= MAX_DISPATCHES_PER_BATCH) flush();
}

/** Records a buffer-to-buffer copy (offsets and size multiples of 4). */
export function copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
  if (size === 0) return;
  endPass();
  getEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  counters.copies += 1;
  if (++recorded >= MAX_DISPATCHES_PER_BATCH) flush();
}

/** Uploads bytes into `dst` in command order: later than every command recorded so far. */
export function upload(dst: GPUBuffer, dstOffset: number, data: ArrayBufferView): void {
  dropStale();
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  const padded = Math.ceil(bytes.byteLength / 4) * 4;
  if (padded === 0) return;
  counters.uploads += 1;
  counters.bytesUploaded += bytes.byteLength;
  if (padded <= UPLOAD_ARENA / 4) {
    let off = uploads.reserve(padded);
    if (off < 0) {
      flush();
      off = uploads.reserve(padded);
    }
    uploads.cpu.set(bytes, off);
    uploads.cpu.fill(0, off + bytes.byteLength, off + padded);
    copyBuffer(uploads.buffer(), off, dst, dstOffset, padded);
    return;
  }
  // Large data: submit what is recorded first, so that writeBuffer (queue-ordered after that submit)
  // cannot overtake a command that reads the old contents.
  flush();
  if (padded === bytes.byteLength) gpu().device.queue.writeBuffer(dst, dstOffset, bytes);
  else {
    const tmp = new Uint8Array(padded);
    tmp.set(bytes);
    gpu().device.queue.writeBuffer(dst, dstOffset, tmp);
  }
}

/** Throws any compile, validation or device-loss error collected so far. */
export async function checkErrors(): Promise<void> {
  try {
    await checkCompiles();
  } catch (e) {
    // The batch that used the broken pipeline failed as a whole; its follow-on "invalid due to a previous
    // error" reports say nothing more, so drop them once that batch has been processed.
    await gpu().device.queue.onSubmittedWorkDone();
    takeUncapturedErrors();
    throw e;
  }
  const errs = takeUncapturedErrors();
  if (errs.length > 0) throw new Error(`kiln: WebGPU reported errors:\n  ${errs.join('\n  ')}`);
}

/** Checked mode's flag readback (kernels/checked.ts), run after every readback and sync. */
let readbackCheck: () => Promise<void> = () => Promise.resolve();
export function setReadbackCheck(fn: () => Promise<void>): void {
  readbackCheck = fn;
}

/**
 * Submits pending work, then copies `size` bytes of `src` at `offset` back to the CPU. A `debug` readback
 * (checked mode's flags) is counted apart and is not a profile event.
 */
export async function readBuffer(src: GPUBuffer, offset: number, size: number, opts: { debug?: boolean } = {}): Promise<ArrayBuffer> {
  const padded = Math.max(4, Math.ceil(size / 4) * 4);
  const ctx = gpu();
  const staging = acquireBuffer(padded, READ_USAGE);
  copyBuffer(src, offset, staging, 0, padded);
  flush();
  if (opts.debug) counters.debugReadbacks += 1;
  else {
    counters.readbacks += 1;
    counters.bytesReadBack += size;
  }
  let out: ArrayBuffer;
  const rec = opts.debug ? null : probe.recorder;
  const t0 = rec !== null ? performance.now() : 0;
  try {
    await staging.mapAsync(MAP_READ_MODE, 0, padded);
    out = staging.getMappedRange(0, padded).slice(0, size);
    staging.unmap();
    rec?.readback(size, t0, performance.now());
  } catch (e) {
    if (ctx.lost !== null) throw new Error(`kiln: the WebGPU device was lost (${ctx.lost}); call kiln.init() again`);
    await checkErrors();
    throw e;
  } finally {
    if (staging.mapState === 'mapped') staging.unmap();
    releaseBuffer(staging, READ_USAGE, ctx.generation);
  }
  await checkErrors();
  await readbackCheck();
  return out;
}

/** Submits pending work and waits until the GPU has finished it; throws collected errors. */
export async function sync(): Promise<void> {
  flush();
  await gpu().device.queue.onSubmittedWorkDone();
  await checkErrors();
  await readbackCheck();
}

