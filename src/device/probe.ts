// The profiler's hook into the device layer: one slot that batch.ts, pool.ts and pipelines.ts consult.
// Empty unless kiln.profile() is running, so the cost when not profiling is one null check per event.

import type { BufferRange, CachedPipeline } from './pipelines.js';

/** What a launcher may tell the profiler about one dispatch (all optional; estimates are fine). */
export interface DispatchWork {
  /** The op the kernel serves ('matmul', 'add', 'sum', …); defaults to the kernel name's first segment. */
  readonly op?: string;
  /** The shapes the op works on (operands, then the output, as the launcher finds useful). */
  readonly shapes?: readonly (readonly number[])[];
  /** Floating-point operations the dispatch performs (multiply-add = 2). */
  readonly flops?: number;
  /** Bytes the dispatch must move to and from memory at least. */
  readonly bytes?: number;
}

/** A dispatch as the device records it. */
export interface DispatchInfo {
  readonly kernel: string;
  readonly work: DispatchWork | undefined;
  readonly workgroups: readonly [number, number, number];
  /** Enough to replay the dispatch alone (the flush-and-time fallback). */
  readonly pipeline: CachedPipeline;
  readonly buffers: readonly BufferRange[];
  readonly uniforms: ArrayBuffer | ArrayBufferView | undefined;
  /** The binding the uniform block takes among `buffers` (where the kernel lists it; most kernels: last). */
  readonly uniformAt: number;
}

export interface Recorder {
  /** Before a dispatch is recorded: the descriptor of the compute pass it gets (its timestamp writes). */
  beginDispatch(d: DispatchInfo): GPUComputePassDescriptor | undefined;
  /** After the dispatch and its pass were recorded. */
  endDispatch(): void;
  /** After a command buffer was submitted. */
  submitted(): void;
  readback(bytes: number, startMs: number, endMs: number): void;
  bufferCreated(bytes: number): void;
  pipelineCompiled(kernel: string, startMs: number, endMs: number): void;
  /** Bytes the pool has handed out, whenever that changes. */
  memory(inUseBytes: number): void;
  /** A named range (kiln.recordFunction) begins; the dispatches until its exit() carry its name. */
  enter(name: string): void;
  exit(): void;
}

export const probe: { recorder: Recorder | null } = { recorder: null };

/**
 * Runs `fn` as a named range of a running profile: its dispatches carry the name (nested ranges join with
 * '/') and the range shows on the trace's CPU track. Outside a profile it only calls `fn`. An async `fn`'s
 * range ends when its promise settles; ranges are meant to nest in call order.
 */
export function recordFunction<T>(name: string, fn: () => T): T {
  const rec = probe.recorder;
  if (rec === null) return fn();
  rec.enter(name);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    rec.exit();
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => rec.exit()) as T;
  rec.exit();
  return result;
}
