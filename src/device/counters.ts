// Cumulative work counters of the device layer: plain integer fields that batch.ts, pool.ts and
// pipelines.ts bump as they submit, dispatch, read back, create buffers and compile pipelines. Never reset
// (kiln.resetStats() keeps a baseline instead), so memory() and every profile window read the same totals.

export interface WorkStats {
  /** Command buffers submitted to the queue. */
  submits: number;
  /** Compute dispatches recorded. */
  dispatches: number;
  /** GPU → CPU readbacks (each maps a staging buffer and waits for the GPU). */
  readbacks: number;
  /** Bytes copied back to the CPU by readbacks. */
  bytesReadBack: number;
  /**
   * Readbacks of checked mode's flags (kiln.setDebug(true)) after a readback or sync: debugging cost,
   * counted apart so that "a step reads nothing back" holds with the checks on.
   */
  debugReadbacks: number;
  /** GPU buffers created by the engine (the pool and its arenas). */
  buffersCreated: number;
  /** Compute pipelines compiled (a pipeline-cache miss). */
  pipelineCompiles: number;
  /** CPU → GPU uploads (tensor creation from data, copies into a buffer from the CPU). */
  uploads: number;
  /** Bytes uploaded. */
  bytesUploaded: number;
  /** Buffer-to-buffer copies recorded (uploads staged through the arena count here too). */
  copies: number;
}

export const counters: WorkStats = {
  submits: 0,
  dispatches: 0,
  readbacks: 0,
  bytesReadBack: 0,
  debugReadbacks: 0,
  buffersCreated: 0,
  pipelineCompiles: 0,
  uploads: 0,
  bytesUploaded: 0,
  copies: 0,
};

/** A copy of the counters now. */
export function snapshot(): WorkStats {
  return { ...counters };
}

/** `now - base`, field by field. */
export function difference(now: WorkStats, base: WorkStats): WorkStats {
  const out = { ...now };
  for (const k of Object.keys(out) as (keyof WorkStats)[]) out[k] = now[k] - base[k];
  return out;
}

let base: WorkStats = snapshot();

/** The counters since the last resetStats() (since start when it was never called). */
export function stats(): WorkStats {
  return difference(counters, base);
}

/** Starts a new stats() window; memory() and the profiler are unaffected. */
export function resetStats(): void {
  base = snapshot();
}
