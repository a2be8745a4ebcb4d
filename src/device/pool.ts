// Size-bucketed GPU buffer pool. Released buffers go back to their bucket and are handed out again, so a
// steady-state loop creates no new GPU buffers. Reuse while recorded commands still read a buffer is safe
// because every later write to it is recorded in the same command stream (see batch.ts).

import { Usage } from './constants.js';
import { counters } from './counters.js';
import { gpu } from './gpu.js';

export const STORAGE_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

export interface PoolStats {
  /** Bytes held in free lists, ready for reuse. */
  pooledBytes: number;
  /** Bytes handed out and not yet released. */
  inUseBytes: number;
  /** The most inUseBytes since the last resetPeak(). */
  peakInUseBytes: number;
  /** The largest single buffer handed out since the last resetPeak(). */
  largestBufferBytes: number;
}

const stats: PoolStats = { pooledBytes: 0, inUseBytes: 0, peakInUseBytes: 0, largestBufferBytes: 0 };

function noteUse(size: number): void {
  stats.inUseBytes += size;
  if (stats.inUseBytes > stats.peakInUseBytes) stats.peakInUseBytes = stats.inUseBytes;
  if (size > stats.largestBufferBytes) stats.largestBufferBytes = size;
}

/** Starts a new peak-memory window (peakInUseBytes and largestBufferBytes restart from now). */
export function resetPeak(): void {
  stats.peakInUseBytes = stats.inUseBytes;
  stats.largestBufferBytes = 0;
}
const free = new Map<string, GPUBuffer[]>();
let poolGeneration = -1;

/** Rounds a byte size up to its bucket: 256 B minimum, then quarter-octave steps (≤ 25% slack). */
export function bucketSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(p / 4, 256);
  return Math.ceil(bytes / step) * step;
}

function key(size: number, usage: number): string {
  return `${usage}:${size}`;
}

function resetIfNewDevice(): void {
  const g = gpu().generation;
  if (g !== poolGeneration) {
    free.clear();
    stats.pooledBytes = 0;
    stats.inUseBytes = 0;
    poolGeneration = g;
  }
}

/** A buffer of at least `bytes` (its real size is `buffer.size`). */
export function acquireBuffer(bytes: number, usage: number = STORAGE_USAGE): GPUBuffer {
  resetIfNewDevice();
  const size = bucketSize(bytes);
  const list = free.get(key(size, usage));
  const reused = list?.pop();
  if (reused) {
    stats.pooledBytes -= size;
    noteUse(size);
    return reused;
  }
  const { device, info } = gpu();
  const max = info.limits['maxBufferSize'] ?? Infinity;
  if (size > max) throw new Error(`kiln: a buffer of ${bytes} bytes exceeds the adapter's maxBufferSize (${max}).`);
  const buffer = device.createBuffer({ size, usage });
  counters.buffersCreated += 1;
  noteUse(size);
  return buffer;
}

/** Returns a buffer to its bucket. Buffers of a lost device are dropped. */
export function releaseBuffer(buffer: GPUBuffer, usage: number = STORAGE_USAGE, ownerGeneration?: number): void {
  if (ownerGeneration !== undefined && ownerGeneration !== poolGeneration) return;
  const k = key(buffer.size, usage);
  let list = free.get(k);
  if (!list) {
    list = [];
    free.set(k, list);
  }
  list.push(buffer);
  stats.pooledBytes += buffer.size;
  stats.inUseBytes -= buffer.size;
}

/** Destroys every pooled (free) buffer; live tensors are unaffected. */
export function emptyPool(): void {
  for (const list of free.values()) for (const b of list) b.destroy();
  free.clear();
  stats.pooledBytes = 0;
}

export function poolStats(): Readonly<PoolStats> {
  return { ...stats };
}
