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

// The norm suite: gpu.js kernels return one value per thread, so a row op is three kernels — two row
// reductions (one thread per row, a loop over the row) and one elementwise kernel — with the row statistics
// read back to JS between them (gpu.js's WebGPU mode does not keep outputs on the device between kernels).
function rowMax(x) {
  let m = -3.0e38;
  for (let j = 0; j < this.constants.D; j++) m = Math.max(m, x[this.thread.x][j]);
  return m;
}
function rowSumExp(x, m) {
  let s = 0;
  for (let j = 0; j < this.constants.D; j++) s += Math.exp(x[this.thread.x][j] - m[this.thread.x]);
  return s;
}
function softmaxOut(x, m, s) {
  return Math.exp(x[this.thread.y][this.thread.x] - m[this.thread.y]) / s[this.thread.y];
}
function rowMean(x) {
  let s = 0;
  for (let j = 0; j < this.constants.D; j++) s += x[this.thread.x][j];
  return s / this.constants.D;
}
function rowRstd(x, mean) {
  let s = 0;
  for (let j = 0; j < this.constants.D; j++) {
    const c = x[this.thread.x][j] - mean[this.thread.x];
    s += c * c;
  }
  return 1 / Math.sqrt(s / this.constants.D + this.constants.EPS);
}
function layerNormOut(x, mean, rstd, w, b) {
  return (x[this.thread.y][this.thread.x] - mean[this.thread.y]) * rstd[this.thread.y] * w[this.thread.x] + b[this.thread.x];
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
  const normKernels = new Map();
  const normFor = (p) => {
    let k = normKernels.get(p.id);
    if (!k) {
      const make = (fn, out) => gpu.createKernel(fn).setOutput(out).setConstants({ D: p.d, EPS: 1e-5 }).setLoopMaxIterations(p.d).setPrecision('single').setTactic('precision');
      k = p.op === 'softmax'
        ? [make(rowMax, [p.rows]), make(rowSumExp, [p.rows]), make(softmaxOut, [p.d, p.rows])]
        : [make(rowMean, [p.rows]), make(rowRstd, [p.rows]), make(layerNormOut, [p.d, p.rows])];
      normKernels.set(p.id, k);
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
    norm: {
      async prepare(p, inputs) {
        return { p, kernels: normFor(p), x: input(inputs.x, [p.d, p.rows]), w: inputs.w, b: inputs.b };
      },
      async run(h) {
        const [stat1, stat2, out] = h.kernels;
        const a = await stat1(h.x);
        const s = await stat2(h.x, a);
        const rows = h.p.op === 'softmax' ? await out(h.x, a, s) : await out(h.x, a, s, h.w, h.b);
        for (const k of h.kernels) if (k.kernel?.constructor?.mode !== 'webgpu') throw new Error(`gpu.js kernel ran in mode '${k.kernel?.constructor?.mode}'`);
        return { data: flatten(rows, new Float32Array(h.p.rows * h.p.d)) };
      },
      release() {},
    },
    close() {
      gpu.destroy?.();
    },
  };
}
