// The decode worker's entry: a worker_threads worker in Node, a Web Worker in browsers. It answers each
// DecodeJob with its DecodeResult, transferring the decoded buffers back. No top-level await: bundlers
// build browser workers as classic scripts (Vite's default 'iife'), which cannot have one.

import { isNode, nodeImport } from '../../device/host.js';
import { type DecodeJob, decodeJob, transferables } from './decode-core.js';

interface Port {
  on?(event: 'message', f: (job: DecodeJob) => void): void;
  postMessage(msg: unknown, transfer: ArrayBuffer[]): void;
}

const answer = (port: Port, job: DecodeJob): void => {
  const r = decodeJob(job);
  port.postMessage(r, transferables(r));
};

if (isNode()) {
  void nodeImport<{ parentPort: Port | null }>('node:worker_threads').then(({ parentPort }) => parentPort?.on?.('message', (job) => answer(parentPort, job)));
} else {
  const scope = globalThis as unknown as { onmessage: ((e: { data: DecodeJob }) => void) | null; postMessage: Port['postMessage'] };
  scope.onmessage = (e) => answer(scope, e.data);
}
