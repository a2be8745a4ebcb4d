// TensorFlow.js with its WebGPU backend as a bench engine. Loaded after bench/run.mjs has put Dawn at
// navigator.gpu; tfjs then creates its own GPUDevice on the same adapter.

import * as tf from '@tensorflow/tfjs-core';
// the package's "main" names a file it does not ship; its UMD bundle registers the 'webgpu' backend
import '@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.js';
import { shapeA, shapeB } from '../../lib/problems.mjs';
import { pkgVersion } from './version.mjs';

const version = pkgVersion('@tensorflow/tfjs-backend-webgpu');

export async function load() {
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
  await tf.ready();
  const name = tf.getBackend();
  if (name !== 'webgpu') throw new Error(`tf.getBackend() is '${name}', not 'webgpu'`);
  const backend = tf.backend();
  const device = backend.device;
  const info = backend.adapterInfo ?? {};
  // uploads happen lazily on first use; push the inputs to the GPU and wait, so a run times only the product
  const upload = async (...ts) => {
    for (const t of ts) backend.uploadToGPU(t.dataId);
    if (backend.commandEncoder) backend.submitQueue(); // staging copies were recorded
    await device.queue.onSubmittedWorkDone();
  };
  return {
    id: 'tfjs',
    name: 'TensorFlow.js (webgpu)',
    version,
    confirmed: `tf.getBackend() === '${name}' (${info.vendor ?? '?'} ${info.architecture ?? '?'})`,
    async prepare(p, inputs) {
      const a = tf.tensor(inputs.a, shapeA(p), 'float32');
      const b = tf.tensor(inputs.b, shapeB(p), 'float32');
      await upload(a, b);
      return { p, a, b };
    },
    async run(h) {
      const c = tf.matMul(h.a, h.b, false, h.p.transB);
      const data = await c.data();
      c.dispose();
      return { data };
    },
    release(h) {
      h.a.dispose();
      h.b.dispose();
    },
    /**
     * tf.softmax (last axis); layerNorm composed as tfjs users write it (tfjs has no layer-norm op; the
     * tfjs-layers LayerNormalization layer does the same): tf.moments over the last axis with keepDims,
     * then tf.batchNorm(x, mean, variance, offset = b, scale = w, eps).
     */
    norm: {
      async prepare(p, inputs) {
        const x = tf.tensor(inputs.x, [p.rows, p.d], 'float32');
        // [1, d]: tf.batchNorm wants scale and offset of the same rank as the [rows, 1] moments
        const w = inputs.w ? tf.tensor(inputs.w, [1, p.d], 'float32') : null;
        const b = inputs.b ? tf.tensor(inputs.b, [1, p.d], 'float32') : null;
        await upload(...[x, w, b].filter(Boolean));
        return { p, x, w, b };
      },
      async run(h) {
        const y = tf.tidy(() => {
          if (h.p.op === 'softmax') return tf.softmax(h.x);
          const { mean, variance } = tf.moments(h.x, -1, true);
          return tf.batchNorm(h.x, mean, variance, h.b, h.w, 1e-5);
        });
        const data = await y.data();
        y.dispose();
        return { data };
      },
      release(h) {
        for (const t of [h.x, h.w, h.b]) t?.dispose();
      },
    },
    close() {},
  };
}
