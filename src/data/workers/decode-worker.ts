// The decode worker's entry: a worker_threads worker in Node, a module Web Worker in browsers. It answers
// each DecodeJob with its DecodeResult, transferring the decoded buffers back.

import { isNode, nodeImport } from '../../device/host.js';
import { type DecodeJob, decodeJob, transferables } from './decode-core.js';

interface Port {
  on?(event: 'message', f: (job: DecodeJob) => void): void;
  postMessage(msg: unknown, transfer: ArrayBuffer[]): void;
}

if (isNode()) {
  const { parentPort } = await nodeImport<{ parentPort: Port | null }>('node:worker_threads');
  parentPort?.on?.('message', (job) => {
    const r = decodeJob(job);
    parentPort.postMessage(r, transferables(r));
  });
} else {
  const scope = globalThis as unknown as { onmessage: ((e: { data: DecodeJob }) => void) | null; postMessage: Port['postMessage'] };
  scope.onmessage = (e) => {
    const r = decodeJob(e.data);
    scope.postMessage(r, transferables(r));
  };
}
