// Decoding off the main thread in Node: kiln.data's worker pool over worker_threads workers running
// src/data/workers/decode-worker; with 0 workers the same decodeJob runs inline. Results come back in any
// order; the streaming loader reorders them by sample index.

import { existsSync } from 'node:fs';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { data } from '../../public.js';

export type Decoder = data.Decoder;

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

/** A decoder with `workers` worker threads (0: decode inline on the calling thread). */
export async function makeDecoder(workers: number): Promise<Decoder> {
  if (workers === 0) return data.inlineDecoder();
  const script = await workerScript();
  return data.workerPool(workers, () => {
    const w = new Worker(script);
    w.unref(); // a run that throws must not be kept alive by idle workers
    return {
      postMessage: (job, transfer) => w.postMessage(job, transfer),
      onResult: (f) => w.on('message', f),
      onFailure: (f) => {
        w.on('error', f);
        w.on('exit', (code) => f(new Error(`exited with code ${code}`)));
      },
      terminate: () => w.terminate(),
    };
  });
}
