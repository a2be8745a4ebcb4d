// A pool of decode workers over any thread API: worker_threads in Node (src/train/data/pool.ts adapts it)
// or module Web Workers in browsers (webDecodePool). Jobs go to the least busy worker with their file bytes
// transferred; results come back in any order, matched by job id. With 0 workers decodeJob runs inline.

import { type DecodeJob, type DecodeResult, decodeJob, transferables } from './decode-core.js';

/** What the pool needs of a worker: post with transfer, hear results and failures, be terminated. */
export interface WorkerLike {
  postMessage(job: DecodeJob, transfer: ArrayBuffer[]): void;
  onResult(f: (r: DecodeResult) => void): void;
  onFailure(f: (e: Error) => void): void;
  terminate(): Promise<unknown>;
}

/** Decodes jobs on `workers` threads (or inline); close() ends them. */
export interface Decoder {
  readonly workers: number;
  decode(job: DecodeJob): Promise<DecodeResult>;
  close(): Promise<void>;
}

interface Slot {
  readonly worker: WorkerLike;
  readonly pending: Map<number, { resolve: (r: DecodeResult) => void; reject: (e: Error) => void }>;
}

/** A decoder that runs each job on the calling thread. */
export function inlineDecoder(): Decoder {
  return { workers: 0, decode: (job) => Promise.resolve(decodeJob(job)), close: () => Promise.resolve() };
}

/** A pool of `n` workers made by `spawn`; a worker that fails rejects the jobs it held. */
export function workerPool(n: number, spawn: () => WorkerLike): Decoder {
  const slots: Slot[] = Array.from({ length: n }, (_, i) => {
    const slot: Slot = { worker: spawn(), pending: new Map() };
    slot.worker.onResult((r) => {
      slot.pending.get(r.id)?.resolve(r);
      slot.pending.delete(r.id);
    });
    slot.worker.onFailure((e) => {
      for (const p of slot.pending.values()) p.reject(new Error(`decode worker ${i} failed: ${e.message}`));
      slot.pending.clear();
    });
    return slot;
  });
  return {
    workers: n,
    decode(job) {
      const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a)); // least busy, then lowest index
      return new Promise((resolve, reject) => {
        slot.pending.set(job.id, { resolve, reject });
        slot.worker.postMessage(job, transferables(job));
      });
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/**
 * A pool of module Web Workers running decode-worker.js (bundlers resolve the `new URL(…, import.meta.url)`
 * pattern and bundle the worker). Browsers only.
 * @example const pool = kiln.data.webDecodePool(navigator.hardwareConcurrency - 1);
 */
export function webDecodePool(n: number): Decoder {
  if (n === 0) return inlineDecoder();
  return workerPool(n, () => {
    const w = new Worker(new URL('./decode-worker.js', import.meta.url), { type: 'module' });
    return {
      postMessage: (job, transfer) => w.postMessage(job, transfer),
      onResult: (f) => w.addEventListener('message', (e: MessageEvent<DecodeResult>) => f(e.data)),
      onFailure: (f) => w.addEventListener('error', (e: ErrorEvent) => f(new Error(e.message))),
      terminate: () => Promise.resolve(w.terminate()),
    };
  });
}
