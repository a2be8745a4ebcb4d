// Decoding off the main thread: a pool of worker_threads workers running src/data/workers/decode-worker,
// each job's file bytes transferred in and the decoded buffers transferred back; with 0 workers the same
// decodeJob runs inline. Results come back in any order; the pipeline reorders them by sample index.

import { existsSync } from 'node:fs';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { data } from '../../public.js';

export interface Decoder {
  readonly workers: number;
  decode(job: data.DecodeJob): Promise<data.DecodeResult>;
  close(): Promise<void>;
}

let bundled: Promise<string> | null = null;

/**
 * The worker script. Built (dist/) it is decode-worker.js beside the compiled sources; run from the
 * TypeScript sources (tests, `vitest`), there is no .js, so the worker and its imports are bundled once
 * per process with rolldown (vite's bundler, a dev dependency) into a temporary .mjs.
 */
async function workerScript(): Promise<string> {
  const js = fileURLToPath(new URL('../../data/workers/decode-worker.js', import.meta.url));
  if (existsSync(js)) return js;
  bundled ??= (async () => {
    const spec = 'rolldown';
    const { build } = (await import(/* @vite-ignore */ spec)) as typeof import('rolldown');
    const input = fileURLToPath(new URL('../../data/workers/decode-worker.ts', import.meta.url));
    const out = await build({ input, platform: 'node', write: false, output: { format: 'esm' }, logLevel: 'silent' });
    const dir = await mkdtemp(join(tmpdir(), 'kiln-decode-worker-'));
    const file = join(dir, 'decode-worker.mjs');
    await writeFile(`${file}.tmp`, out.output[0].code);
    await rename(`${file}.tmp`, file);
    return file;
  })();
  return bundled;
}

class InlineDecoder implements Decoder {
  readonly workers = 0;
  decode(job: data.DecodeJob): Promise<data.DecodeResult> {
    return Promise.resolve(data.decodeJob(job));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (r: data.DecodeResult) => void; reject: (e: Error) => void }>;
}

class WorkerPool implements Decoder {
  private readonly slots: Slot[];

  constructor(script: string, readonly workers: number) {
    this.slots = Array.from({ length: workers }, (_, i) => {
      const worker = new Worker(script);
      worker.unref(); // a run that throws must not be kept alive by idle workers
      const slot: Slot = { worker, pending: new Map() };
      worker.on('message', (r: data.DecodeResult) => {
        slot.pending.get(r.id)?.resolve(r);
        slot.pending.delete(r.id);
      });
      const fail = (e: Error): void => {
        for (const p of slot.pending.values()) p.reject(new Error(`decode worker ${i} failed: ${e.message}`));
        slot.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
      return slot;
    });
  }

  decode(job: data.DecodeJob): Promise<data.DecodeResult> {
    // The least busy worker (ties: the lowest index); results are reordered by the caller.
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return new Promise((resolve, reject) => {
      slot.pending.set(job.id, { resolve, reject });
      slot.worker.postMessage(job, data.transferables(job));
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** A decoder with `workers` worker threads (0: decode inline on the calling thread). */
export async function makeDecoder(workers: number): Promise<Decoder> {
  if (workers === 0) return new InlineDecoder();
  return new WorkerPool(await workerScript(), workers);
}
