// jax-js on its WebGPU device as a bench engine (eager numpy API; jax-js arrays are reference-counted:
// passing an array to a function consumes it, `.ref` keeps it alive).

import { defaultDevice, init, jit, nn, numpy as np } from '@jax-js/jax';
import { shapeA, shapeB } from '../../lib/problems.mjs';
import { pkgVersion } from './version.mjs';

const version = pkgVersion('@jax-js/jax');

export async function load() {
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax-js init('webgpu') gave devices [${devices.join(', ')}]`);
  defaultDevice('webgpu');
  // the norm suite under jit (one compiled program per op): jax.nn.softmax, and a layer norm composed as
  // jax users write it (flax's LayerNorm is standardize · scale + bias)
  const softmax = jit((x) => nn.softmax(x, -1));
  const layerNorm = jit((x, w, b) => np.add(np.multiply(nn.standardize(x, -1, { epsilon: 1e-5 }), w), b));
  return {
    id: 'jax',
    name: 'jax-js (webgpu)',
    version,
    confirmed: `init() → [${devices.join(', ')}], defaultDevice() === '${defaultDevice()}'`,
    async prepare(p, inputs) {
      const a = await np.array(inputs.a).reshape(shapeA(p)).blockUntilReady();
      const b = await np.array(inputs.b).reshape(shapeB(p)).blockUntilReady();
      if (a.device !== 'webgpu') throw new Error(`jax-js array is on '${a.device}', not webgpu`);
      return { p, a, b };
    },
    async run(h) {
      const b = h.p.transB ? np.matrixTranspose(h.b.ref) : h.b.ref;
      const c = np.matmul(h.a.ref, b);
      const device = c.device;
      const data = await c.data();
      if (device !== 'webgpu') throw new Error(`jax-js product ran on '${device}'`);
      return { data };
    },
    release(h) {
      h.a.dispose();
      h.b.dispose();
    },
    norm: {
      async prepare(p, inputs) {
        const put = async (data, shape) => (data ? await np.array(data).reshape(shape).blockUntilReady() : null);
        const h = { p, x: await put(inputs.x, [p.rows, p.d]), w: await put(inputs.w, [p.d]), b: await put(inputs.b, [p.d]) };
        if (h.x.device !== 'webgpu') throw new Error(`jax-js array is on '${h.x.device}', not webgpu`);
        return h;
      },
      async run(h) {
        const y = h.p.op === 'softmax' ? softmax(h.x.ref) : layerNorm(h.x.ref, h.w.ref, h.b.ref);
        const device = y.device;
        const data = await y.data();
        if (device !== 'webgpu') throw new Error(`jax-js ${h.p.op} ran on '${device}'`);
        return { data };
      },
      release(h) {
        for (const t of [h.x, h.w, h.b]) t?.dispose();
      },
    },
    close() {
      softmax.dispose();
      layerNorm.dispose();
    },
  };
}
