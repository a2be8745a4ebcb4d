// The adapter's two ceilings, measured with bench-only WGSL (bench/wgsl/) on a device of our own: FMA
// throughput (GFLOP/s) and a large buffer copy (GB/s), plus the readback cost every matmul run pays.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { summarize } from './stats.mjs';

const wgsl = (name) => readFileSync(new URL(`../wgsl/${name}`, import.meta.url), 'utf8');

/** Times `encode(encoder)` with GPU timestamps around it when available, else wall clock around submit. */
async function timeGpu(device, encode) {
  const ts = device.features.has('timestamp-query');
  const encoder = device.createCommandEncoder();
  let qs = null;
  let resolveBuf = null;
  let readBuf = null;
  if (ts) {
    qs = device.createQuerySet({ type: 'timestamp', count: 2 });
    resolveBuf = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    readBuf = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    // empty passes that only write a timestamp bracket whatever `encode` records, dispatches or copies
    encoder.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0 } }).end();
  }
  encode(encoder);
  if (ts) {
    encoder.beginComputePass({ timestampWrites: { querySet: qs, endOfPassWriteIndex: 1 } }).end();
    encoder.resolveQuerySet(qs, 0, 2, resolveBuf, 0);
    encoder.copyBufferToBuffer(resolveBuf, 0, readBuf, 0, 16);
  }
  const t0 = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const wallMs = performance.now() - t0;
  let gpuMs = null;
  if (ts) {
    await readBuf.mapAsync(GPUMapMode.READ);
    const [a, b] = new BigInt64Array(readBuf.getMappedRange());
    gpuMs = Number(b - a) / 1e6;
    readBuf.unmap();
    for (const x of [qs, resolveBuf, readBuf]) x.destroy();
    if (!(gpuMs > 0)) gpuMs = null; // a zero or negative span means the timestamps are not usable
  }
  return { ms: gpuMs ?? wallMs, gpuMs, wallMs };
}

async function compile(device, name, code, constants) {
  const module = device.createShaderModule({ code, label: name });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    const lines = code.split('\n');
    throw new Error(`bench ${name}: WGSL compile failed:\n` + errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}\n    ${lines[m.lineNum - 1]}`).join('\n'));
  }
  return device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main', constants }, label: name });
}

async function fmaCeiling(device, { quick }) {
  const WG = 64;
  const groups = 4096; // 262,144 invocations: every CPU thread gets many workgroups
  const pipeline = await compile(device, 'fma.wgsl', wgsl('fma.wgsl'), { WG });
  const out = device.createBuffer({ size: groups * WG * 32, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: params } }, { binding: 1, resource: { buffer: out } }],
  });
  const run = async (iters) => {
    const p = new ArrayBuffer(16);
    new Uint32Array(p, 0, 1)[0] = iters;
    new Float32Array(p, 4, 2).set([0.999, 0.001]); // a contraction: the chains stay finite
    device.queue.writeBuffer(params, 0, p);
    const t = await timeGpu(device, (enc) => {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(groups);
      pass.end();
    });
    return { ...t, flops: groups * WG * iters * 16 * 8 * 2 };
  };
  // calibrate the trip count so one dispatch takes ~0.3 s (0.1 s in --quick)
  const probe = await run(8);
  const target = quick ? 100 : 300;
  const iters = Math.max(8, Math.round((8 * target) / Math.max(probe.ms, 0.5)));
  const samples = [];
  let flops = 0;
  for (let r = 0; r < (quick ? 3 : 5); r++) {
    const t = await run(iters);
    samples.push(t.ms);
    flops = t.flops;
  }
  out.destroy();
  params.destroy();
  const s = summarize(samples);
  return {
    gflops: flops / (s.median * 1e6),
    gflopsMin: flops / (s.max * 1e6),
    gflopsMax: flops / (s.min * 1e6),
    ms: s,
    iters,
    invocations: groups * WG,
    accumulators: 8,
    unroll: 16,
  };
}

async function copyCeiling(device, { quick }) {
  const bytes = (quick ? 32 : 64) * 1024 * 1024;
  const WG = 256;
  const pipeline = await compile(device, 'copy.wgsl', wgsl('copy.wgsl'), { WG });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const src = device.createBuffer({ size: bytes, usage, mappedAtCreation: true });
  new Float32Array(src.getMappedRange()).fill(1.5);
  src.unmap();
  const dst = device.createBuffer({ size: bytes, usage });
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }],
  });
  const vec4s = bytes / 16;
  const maxX = device.limits.maxComputeWorkgroupsPerDimension;
  const groups = Math.ceil(vec4s / WG);
  const gx = Math.min(groups, maxX);
  const gy = Math.ceil(groups / gx);
  const runs = quick ? 3 : 7;
  const kernel = [];
  const copy = [];
  const readback = [];
  for (let r = 0; r < runs + 1; r++) {
    const k = await timeGpu(device, (enc) => {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(gx, gy);
      pass.end();
    });
    const c = await timeGpu(device, (enc) => enc.copyBufferToBuffer(dst, 0, src, 0, bytes));
    // readback as an engine pays it: copy to a mappable buffer, map, copy out to JS (wall clock)
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(dst, 0, read, 0, bytes);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const host = new Float32Array(read.getMappedRange()).slice();
    read.unmap();
    const rb = performance.now() - t0;
    if (host[host.length - 1] !== 1.5) throw new Error(`bench copy ceiling: copied value ${host[host.length - 1]} != 1.5`);
    if (r > 0) {
      kernel.push(k.ms);
      copy.push(c.ms);
      readback.push(rb);
    }
  }
  for (const b of [src, dst, read]) b.destroy();
  const gbps = (ms) => (2 * bytes) / (ms * 1e6); // bytes read + bytes written
  const ks = summarize(kernel);
  const cs = summarize(copy);
  const rs = summarize(readback);
  return {
    bytes,
    kernelGBps: gbps(ks.median),
    kernelGBpsMin: gbps(ks.max),
    kernelGBpsMax: gbps(ks.min),
    copyBufferToBufferGBps: gbps(cs.median),
    readbackGBps: bytes / (rs.median * 1e6),
    readbackMs: rs.median,
    kernelMs: ks,
    copyMs: cs,
  };
}

/**
 * Theoretical FMA peak of the CPU cores behind a software adapter. Assumes every logical core is a core of
 * its own with two FMA ports (Skylake-SP and later Xeons), at 2.5 GHz unless os.cpus() reports a speed.
 * llvmpipe emits 256-bit (8 × f32) vectors, so the AVX2 figure is the one its kernels can reach.
 */
export function cpuPeak() {
  const cpus = os.cpus();
  const cores = cpus.length;
  const reported = cpus[0]?.speed ?? 0;
  const ghz = reported > 500 ? reported / 1000 : 2.5;
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux: assume AVX2 only */
  }
  const avx512 = /\bavx512f\b/.test(flags);
  const avx2 = cores * ghz * 2 /* FMA ports */ * 8 /* f32 lanes */ * 2; /* flops per FMA */
  return {
    model: cpus[0]?.model ?? 'unknown',
    cores,
    ghz,
    ghzSource: reported > 500 ? 'os.cpus()' : 'assumed 2.5 GHz (os.cpus() reports no speed)',
    avx512,
    avx2GFlops: avx2,
    avx512GFlops: avx512 ? avx2 * 2 : null,
    assumption: `${cores} cores × ${ghz.toFixed(2)} GHz × 2 FMA ports × 8 f32 lanes (AVX2, 256-bit) × 2 flops` +
      (avx512 ? '; ×2 with AVX-512 (16 lanes), which llvmpipe does not emit' : ''),
  };
}

/** Both ceilings on a fresh device of the given adapter (the bench's own, never Kiln's). */
export async function measureCeilings(gpu, opts) {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('bench ceilings: no WebGPU adapter');
  const feats = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({
    requiredFeatures: feats,
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  });
  try {
    const fma = await fmaCeiling(device, opts);
    const copy = await copyCeiling(device, opts);
    return { timer: feats.length ? 'gpu timestamps' : 'wall clock', fma, copy };
  } finally {
    device.destroy();
  }
}
