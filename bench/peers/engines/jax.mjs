// jax-js on its WebGPU device as a bench engine (eager numpy API; jax-js arrays are reference-counted:
// passing an array to a function consumes it, `.ref` keeps it alive).

import { defaultDevice, init, numpy as np } from '@jax-js/jax';
import { shapeA, shapeB } from '../../lib/problems.mjs';
import { pkgVersion } from './version.mjs';

const version = pkgVersion('@jax-js/jax');

export async function load() {
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax-js init('webgpu') gave devices [${devices.join(', ')}]`);
  defaultDevice('webgpu');
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
    close() {},
  };
}
