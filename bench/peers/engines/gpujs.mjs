// gpu.js in its WebGPU mode as a bench engine: a kernel written as a JS function (the textbook matmul
// from gpu.js's README), transpiled by gpu.js to WGSL. gpu.js takes JS arrays, so a run includes the
// upload of both inputs, and returns one Float32Array per row, flattened here inside the timed run.

import gpujs from 'gpu.js';
import { pkgVersion } from './version.mjs';

const { GPU, input } = gpujs;
const version = pkgVersion('gpu.js');

function matmul2d(a, b) {
  let sum = 0;
  for (let k = 0; k < this.constants.K; k++) {
    sum += a[this.thread.y][k] * b[k][this.thread.x];
  }
  return sum;
}

function matmulBatchedTransB(a, b) {
  let sum = 0;
  for (let k = 0; k < this.constants.K; k++) {
    sum += a[this.thread.z][this.thread.y][k] * b[this.thread.z][this.thread.x][k];
  }
  return sum;
}

const flatten = (rows, out) => {
  let o = 0;
  const put = (x) => {
    if (x instanceof Float32Array) {
      out.set(x, o);
      o += x.length;
    } else for (const y of x) put(y);
  };
  put(rows);
  return out;
};

export async function load() {
  if (!GPU.isWebGPUSupported) throw new Error('GPU.isWebGPUSupported is false (no navigator.gpu)');
  if (!(await GPU.isWebGPUAvailable())) throw new Error('GPU.isWebGPUAvailable() is false (no adapter answered)');
  const gpu = new GPU({ mode: 'webgpu' });
  // a tiny kernel proves which backend gpu.js really built
  const probe = gpu.createKernel(function (a) {
    return a[this.thread.x] * 2;
  }).setOutput([4]);
  const doubled = await probe(new Float32Array([1, 2, 3, 4]));
  const built = probe.kernel?.constructor?.mode;
  if (built !== 'webgpu' || doubled[3] !== 8) throw new Error(`gpu.js probe kernel built in mode '${built}', gave ${doubled}`);
  const kernels = new Map();
  const kernelFor = (p) => {
    let k = kernels.get(p.id);
    if (!k) {
      if (p.batch === 1 && !p.transB) k = gpu.createKernel(matmul2d).setOutput([p.N, p.M]);
      else if (p.transB) k = gpu.createKernel(matmulBatchedTransB).setOutput([p.N, p.M, p.batch]);
      else throw new Error('gpu.js engine: batched matmul without transB is not wired');
      k.setConstants({ K: p.K }).setLoopMaxIterations(p.K).setPrecision('single').setTactic('precision');
      kernels.set(p.id, k);
    }
    return k;
  };
  return {
    id: 'gpujs',
    name: 'gpu.js (webgpu)',
    version,
    confirmed: `new GPU({ mode: 'webgpu' }): gpu.mode === '${gpu.mode}', kernel built by ${probe.kernel.constructor.name} (mode '${built}')`,
    async prepare(p, inputs) {
      const kernel = kernelFor(p);
      // gpu.js sizes are [width, height, depth] = [columns, rows, batch]
      const a = p.batch === 1 ? input(inputs.a, [p.K, p.M]) : input(inputs.a, [p.K, p.M, p.batch]);
      const b = p.transB ? input(inputs.b, [p.K, p.N, p.batch]) : input(inputs.b, [p.N, p.K]);
      return { p, kernel, a, b };
    },
    async run(h) {
      const rows = await h.kernel(h.a, h.b);
      const mode = h.kernel.kernel?.constructor?.mode;
      if (mode !== 'webgpu') throw new Error(`gpu.js kernel ran in mode '${mode}'`);
      return { data: flatten(rows, new Float32Array(h.p.batch * h.p.M * h.p.N)) };
    },
    release() {},
    close() {
      gpu.destroy?.();
    },
  };
}
