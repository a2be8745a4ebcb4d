// Kiln's public API, listed by name, less the models (src/index.ts adds them): src/models imports from
// here, so that the models use only the public API without importing themselves.

import { flush as flushBatch, sync as syncBatch } from './device/batch.js';
import { counters } from './device/counters.js';
import { type DeviceInfo, type InitOptions, gpu, initGpu } from './device/gpu.js';
import { clearBindGroups } from './device/pipelines.js';
import { emptyPool, poolStats, resetPeak } from './device/pool.js';
import { loadWgslSources } from './kernels/source.js';
import { loadTuningCache } from './kernels/tune.js';
import { liveBytes } from './tensor/storage.js';
import { empty as allocEmpty } from './tensor/alloc.js';
import { Tensor, type TensorOrScalar, type Dims, type ToFloat } from './tensor/tensor.js';
import { type ShapeArgs, shapeArgs } from './tensor/create.js';
import type { DType } from './kernels/dtype.js';
import * as ew from './tensor/ops/elementwise.js';
import * as idx from './tensor/ops/indexing.js';
import * as mm from './tensor/ops/matmul.js';
import * as red from './tensor/ops/reduce.js';

export { Tensor };
/** The installed package's version (package.json's "version"). @example console.log(kiln.version) // '0.1.0' */
export { version } from './version.js';
export type { TensorOrScalar, Dims, NestedArray, KeepFloat, ToFloat } from './tensor/tensor.js';
export type { DataArray, RawArray } from './kernels/dtype.js';
export type { DType } from './kernels/dtype.js';
export type { DeviceInfo, InitOptions } from './device/gpu.js';
export type { Progress, ProgressCallback } from './progress.js';

/**
 * Creates the WebGPU device (navigator.gpu in browsers and Deno, the `webgpu` package in Node) and loads
 * the kernel sources. Later calls return the same live device; after a device loss, a new one.
 * @example await kiln.init();
 */
export async function init(options: InitOptions = {}): Promise<DeviceInfo> {
  const ctx = await initGpu(options);
  await loadWgslSources();
  await loadTuningCache();
  return ctx.info;
}

/**
 * Adapter, features and limits of the live device.
 * @example console.log(kiln.deviceInfo().features);
 */
export function deviceInfo(): DeviceInfo {
  return gpu('deviceInfo').info;
}

/**
 * Submits every recorded command and waits for the GPU to finish them; throws collected GPU errors.
 * @example await kiln.flush();
 */
export async function flush(): Promise<void> {
  await syncBatch();
}

/**
 * Checked mode: indexSelect (and so embedding), gather, scatterAdd and crossEntropy targets scan their
 * indices on the GPU, and the next readback (`data()`, `item()`, `kiln.flush()`) throws naming the op
 * if one was out of range. Off by default: out-of-range indices are then clamped, without a readback.
 * Returns the previous setting.
 * @example kiln.setDebug(true);
 */
export { setDebug } from './kernels/checked.js';

/** Submits recorded commands without waiting. @example kiln.submit(); */
export function submit(): void {
  flushBatch();
}

export interface MemoryInfo {
  /** Tensors created and not disposed. */
  readonly liveTensors: number;
  /** Bytes of GPU storage held by live tensors (and tensors saved for backward). */
  readonly liveBytes: number;
  /** Bytes of free buffers kept by the pool for reuse. */
  readonly pooledBytes: number;
  /** GPU buffers created since start (a steady-state loop keeps this flat). */
  readonly buffersCreated: number;
  /** Compute pipelines compiled since start. */
  readonly pipelines: number;
  /** Most GPU bytes in use (tensors, saved tensors, kernel scratch) since kiln.resetPeakMemory(). */
  readonly peakBytes: number;
  /** The largest single GPU buffer handed out since kiln.resetPeakMemory(): proves an N×N matrix was never allocated. */
  readonly largestBufferBytes: number;
  readonly submits: number;
  readonly dispatches: number;
}

/**
 * Memory and work statistics of the engine.
 * @example const { liveTensors, buffersCreated } = kiln.memory();
 */
export function memory(): MemoryInfo {
  const p = poolStats();
  return {
    liveTensors: Tensor.liveCount(),
    liveBytes: liveBytes(),
    pooledBytes: p.pooledBytes,
    buffersCreated: counters.buffersCreated,
    pipelines: counters.pipelineCompiles,
    peakBytes: p.peakInUseBytes,
    largestBufferBytes: p.largestBufferBytes,
    submits: counters.submits,
    dispatches: counters.dispatches,
  };
}

export {
  /**
   * Work done since start, or since the last kiln.resetStats(): submits, dispatches, readbacks (and bytes read
   * back), buffers created, pipeline compiles, uploads (and bytes), buffer copies. Integer counters bumped
   * by the device layer, so reading them costs nothing; assert "this step reads nothing back" with them.
   * @example kiln.resetStats(); step(); expect(kiln.stats().readbacks).toBe(0);
   */
  stats,
  /** Starts a new kiln.stats() window (memory() keeps counting from start). @example kiln.resetStats(); */
  resetStats,
} from './device/counters.js';
export type { WorkStats } from './device/counters.js';

/** Starts a new window for memory().peakBytes and largestBufferBytes. @example kiln.resetPeakMemory(); */
export function resetPeakMemory(): void {
  resetPeak();
}

/**
 * Destroys the pool's free buffers (live tensors are unaffected). Waits for recorded work first: a freed
 * buffer may still be read by a command that has not run yet.
 * @example await kiln.emptyCache();
 */
export async function emptyCache(): Promise<void> {
  await syncBatch();
  emptyPool();
  clearBindGroups();
}

export {
  /** Frees every tensor created in `fn` except those it returns. @example const y = kiln.tidy(() => x.mul(2).add(1)); */
  tidy,
  /** Runs `fn` without recording gradients. @example kiln.noGrad(() => w.sub_(w.grad!.mul(lr))); */
  noGrad,
  /** Runs `fn` with gradient recording on, even inside noGrad (torch.enable_grad). @example kiln.noGrad(() => kiln.enableGrad(() => f(x))) */
  enableGrad,
  isGradEnabled,
} from './tensor/scope.js';

/**
 * Activation checkpointing (torch.utils.checkpoint, non-reentrant): `fn`'s intermediates are recomputed in
 * backward instead of kept; gradients are bitwise those of the plain run.
 * @example const y = kiln.checkpoint((h) => block.call(h), x);
 */
export { checkpoint } from './tensor/checkpoint.js';

export {
  /** A tensor from nested arrays or a typed array. @example kiln.tensor([[1, 2], [3, 4]]) */
  tensor,
  /** @example kiln.zeros([2, 3]) */
  zeros,
  /** @example kiln.ones([2, 3], { dtype: 'f16' }) */
  ones,
  /** @example kiln.full([2], 7) */
  full,
  zerosLike,
  onesLike,
  /** @example kiln.arange(5) // [0..4], i32 */
  arange,
  /** @example kiln.eye(3) */
  eye,
  /** Uniform on [0, 1). @example kiln.rand([4]) */
  rand,
  /** Standard normal. @example kiln.randn([3, 4], { requiresGrad: true }) */
  randn,
  uniform,
  normal,
  /** Seeds the counter-based generator. @example kiln.manualSeed(0) */
  manualSeed,
  /** The generator's (seed, offset) state, for exact resume. @example const s = kiln.getRngState(); */
  getRngState,
  setRngState,
} from './tensor/create.js';
export type { RngState, CreateOptions, TensorOptions, ShapeArgs, FloatDType, NestedNumbers, NestedBooleans } from './tensor/create.js';
export { setPoison } from './tensor/alloc.js';

// ---- free-function forms of the Tensor methods -----------------------------------------------------------

/** @example kiln.add(a, b) */
export const add = (a: TensorOrScalar, b: TensorOrScalar, opts?: { alpha?: number }): Tensor => ew.add(a, b, opts?.alpha);
export const sub = (a: TensorOrScalar, b: TensorOrScalar, opts?: { alpha?: number }): Tensor => ew.sub(a, b, opts?.alpha);
export const mul = (a: TensorOrScalar, b: TensorOrScalar): Tensor => ew.mul(a, b);
export const div = (a: TensorOrScalar, b: TensorOrScalar): Tensor => ew.div(a, b);
export const pow = (a: TensorOrScalar, b: TensorOrScalar): Tensor => ew.pow(a, b);
export const minimum = (a: TensorOrScalar, b: TensorOrScalar): Tensor => ew.minimum(a, b);
export const maximum = (a: TensorOrScalar, b: TensorOrScalar): Tensor => ew.maximum(a, b);
/** cond ? a : b. @example kiln.where(x.gt(0), x, 0) */
export const where = (cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor => ew.where(cond, a, b);
export const neg = <D extends DType>(x: Tensor<D>): Tensor<D> => x.neg();
export const exp = <D extends DType>(x: Tensor<D>): Tensor<ToFloat<D>> => x.exp();
export const log = <D extends DType>(x: Tensor<D>): Tensor<ToFloat<D>> => x.log();
export const sqrt = <D extends DType>(x: Tensor<D>): Tensor<ToFloat<D>> => x.sqrt();
export const rsqrt = <D extends DType>(x: Tensor<D>): Tensor<ToFloat<D>> => x.rsqrt();
export const abs = <D extends DType>(x: Tensor<D>): Tensor<D> => x.abs();
export const sign = <D extends DType>(x: Tensor<D>): Tensor<D> => x.sign();
export const tanh = <D extends DType>(x: Tensor<D>): Tensor<ToFloat<D>> => x.tanh();
export const sigmoid = <D extends DType>(x: Tensor<D>): Tensor<ToFloat<D>> => x.sigmoid();
export const relu = <D extends DType>(x: Tensor<D>): Tensor<D> => x.relu();
export const gelu = <D extends DType>(x: Tensor<D>, opts?: { approximate?: 'none' | 'tanh' }): Tensor<ToFloat<D>> => x.gelu(opts);
export const silu = <D extends DType>(x: Tensor<D>): Tensor<ToFloat<D>> => x.silu();
export const clamp = (x: Tensor, min?: number | null, max?: number | null): Tensor => x.clamp(min, max);
export const eq = (a: Tensor, b: TensorOrScalar): Tensor => a.eq(b);
export const ne = (a: Tensor, b: TensorOrScalar): Tensor => a.ne(b);
export const lt = (a: Tensor, b: TensorOrScalar): Tensor => a.lt(b);
export const le = (a: Tensor, b: TensorOrScalar): Tensor => a.le(b);
export const gt = (a: Tensor, b: TensorOrScalar): Tensor => a.gt(b);
export const ge = (a: Tensor, b: TensorOrScalar): Tensor => a.ge(b);
/** @example kiln.sum(x, [0, -1], true) */
export const sum = (x: Tensor, dims?: Dims, keepdim = false): Tensor => red.sum(x, dims, keepdim);
export const mean = (x: Tensor, dims?: Dims, keepdim = false): Tensor => red.mean(x, dims, keepdim);
export const max = (x: Tensor, dims?: Dims, keepdim = false): Tensor => red.amax(x, dims, keepdim);
export const min = (x: Tensor, dims?: Dims, keepdim = false): Tensor => red.amin(x, dims, keepdim);
export const amax = max;
export const amin = min;
export const argmax = (x: Tensor, dim?: number, keepdim = false): Tensor => red.argmax(x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false): Tensor => red.argmin(x, dim, keepdim);
export const variance = (x: Tensor, dims?: Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor => x.var(dims, opts);
export { variance as var };
/** Batched matrix product with broadcasting. @example kiln.matmul(x, w) */
export const matmul = <D extends DType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> => mm.matmul(a, b) as Tensor<D>;
/** Concatenates along an existing dimension. @example kiln.cat([a, b], 1) */
export const cat = (ts: readonly Tensor[], dim = 0): Tensor => idx.cat(ts, dim);
/** Stacks along a new dimension. @example kiln.stack([a, b]) */
export const stack = (ts: readonly Tensor[], dim = 0): Tensor => idx.stack(ts, dim);
export const gather = (x: Tensor, dim: number, index: Tensor): Tensor => idx.gather(x, dim, index);
export const indexSelect = (x: Tensor, dim: number, index: Tensor): Tensor => idx.indexSelect(x, dim, index);
export const scatterAdd = (x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor => idx.scatterAdd(x, dim, index, src);
export const reshape = <D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> => x.reshape(shape);
export const permute = <D extends DType>(x: Tensor<D>, dims: readonly number[]): Tensor<D> => x.permute(dims);
export const transpose = <D extends DType>(x: Tensor<D>, d0: number, d1: number): Tensor<D> => x.transpose(d0, d1);
export const cast = <T extends DType>(x: Tensor, dtype: T): Tensor<T> => x.cast(dtype);

/**
 * Autocast to f16 (torch.autocast): matmul, linear, attention and convolutions run in f16; norms, softmax,
 * losses and reductions in f32; parameters stay f32 (cached f16 copies per region). Needs 'shader-f16'.
 * @example const loss = kiln.autocast('f16', () => lossFn(model.forward(x)));
 */
export { autocast, isAutocastEnabled, clearAutocastCache } from './tensor/autocast.js';
/** Mixed precision: the loss scaler. @example const scaler = new kiln.amp.GradScaler(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update(); */
export * as amp from './amp/index.js';
/** Modules, layers and initialisers (torch.nn's names). @example const fc = new kiln.nn.Linear(3, 4); */
export * as nn from './nn/index.js';
/** Optimizers with parameter groups (torch.optim's update rules). @example const opt = new kiln.optim.AdamW(model.parameters(), { lr: 1e-3 }); */
export * as optim from './optim/index.js';
/** A tensor with unspecified contents; the shape as an array or as sizes. @example kiln.empty(2, 3) */
export function empty<D extends DType = 'f32'>(...args: ShapeArgs<D>): Tensor<D> {
  const { shape, opts } = shapeArgs<D>('empty', args);
  if (opts.requiresGrad === true) throw new Error('empty: requiresGrad is not supported for uninitialised tensors; use zeros');
  return allocEmpty(shape, opts.dtype ?? 'f32', 'empty') as Tensor<D>;
}
/** The functional neural-network API (same as kiln.nn.functional). @example kiln.F.softmax(x, -1) */
export * as F from './nn/functional.js';
/** Input pipelines: WAV → ImageBind audio input, images. @example const x = kiln.data.loadAudio(bytes, { name: 'dog.wav' }); // [3, 1, 128, 204] */
export * as data from './data/index.js';
/** Checkpoint readers: PyTorch .pth state dicts (and safetensors). @example const sd = await kiln.io.loadPth('model.pth'); */
export * as io from './io/index.js';
/** CLIP's byte-level BPE tokeniser and a BPE trainer. @example const tok = await kiln.text.defaultTokenizer(); const ids = tok.tokenize(['a dog barking']); */
export * as text from './text/index.js';
/**
 * Measures the matmul kernel's candidate configurations on this adapter and caches the fastest on disk
 * (KILN_CACHE_DIR; KILN_TUNE=off disables). Later matmuls of that size class use it.
 * @example await kiln.tuneMatmul({ M: 1024, K: 1024, N: 1024 });
 */
export { tuneMatmul } from './kernels/matmul.js';
/**
 * The kernel choices in force (this adapter's tuning-cache entries and the KILN_* variant switches), which
 * decide the exact bits a kernel produces; training checkpoints record them.
 * @example const { tuning, env } = kiln.kernelChoices();
 */
export { kernelChoices } from './kernels/tune.js';
/**
 * Forces a kernel family's choice ('matmul', 'attention', 'infonce') over the tuned or per-adapter-class
 * default, for benchmarks and tests; null restores the normal choice. Checkpoints record forced choices.
 * @example kiln.forceKernel('matmul', { kernel: 'wg', wg: 256, bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 });
 */
export { forceKernel } from './kernels/tune.js';
/**
 * Defines an op from your own WGSL kernels and gradient rule; it joins autograd, tidy and the pipeline cache.
 * @example const f = kiln.customOp({ name: 'bias_gelu', kernels: { fwd: { code, bindings: ['write', 'read', 'read', 'uniform'] } }, forward, backward });
 */
export { customOp } from './tensor/custom.js';
export type { CustomOpSpec, CustomKernel, ForwardContext, BackwardContext, KernelContext, Launch } from './tensor/custom.js';
/**
 * Records every dispatch `fn` makes with its GPU time (timestamp queries, or a labelled flush-and-time
 * fallback), plus submits, readbacks, buffer creations, pipeline compiles and memory in use.
 * @example const report = await kiln.profile(async () => { step(); await kiln.flush(); }); console.log(report.table());
 */
export { profile, profileSteps } from './profile/profile.js';
export type { ProfileOptions } from './profile/profile.js';
export { ProfileReport } from './profile/report.js';
export type { ProfiledDispatch, ProfileRow } from './profile/report.js';
export type { DispatchWork } from './device/probe.js';
/**
 * Names a range of a running kiln.profile: its dispatches carry the name (table "by range", trace CPU
 * track); Tensor.backward is one already. Outside a profile it just calls `fn`.
 * @example kiln.recordFunction('optimizer.step', () => opt.step());
 */
export { recordFunction } from './device/probe.js';
/**
 * Times a function, or several interleaved, the way Kiln's bench does: warm-ups, then timed runs that each
 * end with a readback; returns median, min, max, quartiles and spread.
 * @example const r = await kiln.bench(() => a.matmul(b), { runs: 20, warmup: 3 }); console.log(r.median);
 */
export { bench, summarize } from './profile/bench.js';
export type { BenchCase, Benchable, BenchOptions, BenchResult, BenchError } from './profile/bench.js';
