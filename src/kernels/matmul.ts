// Launcher for batched matmul out[b] = a[b] @ b[b]: `out` is contiguous [batch, M, N]; `a` and `b` are
// strided views [batch..., M, K] and [batch..., K, N] whose batch axes are already broadcast (stride 0),
// so transposed operands are read without a copy. Picks a register-blocked kernel and its override
// constants per adapter (tuned or default); the one-invocation-per-output kernel stays as the reference.

import { dispatch, grid } from '../device/batch.js';
import type { DispatchWork } from '../device/probe.js';
import { gpu } from '../device/gpu.js';
import { type AdapterClass, currentAdapterClass, subgroupsTile } from './adapter-class.js';
import { wgslStorageType } from './dtype.js';
import { type WgMatmulConfig, matmulWgSource, runMatmulWg, wgMatmulCandidates, wgMatmulUsable, wgMatmulWellFormed } from './matmul-wg.js';
import { type Operand, UniformWriter, coalesce, whole } from './operand.js';
import { orient, withVec4Layout } from './matmul-relayout.js';
import { acquireBuffer, releaseBuffer } from '../device/pool.js';
import { prelude, wgslFile } from './source.js';
import { type ChoiceSite, choose, defineSite, sourcesHash } from './select.js';
import { type TuneKey, type TuneOptions, type TuneResult, tune } from './tune.js';

const naive = wgslFile('matmul_naive', new URL('./wgsl/matmul_naive.wgsl', import.meta.url));
const common = wgslFile('matmul_common', new URL('./wgsl/matmul_common.wgsl', import.meta.url));
const tiled = wgslFile('matmul_tiled', new URL('./wgsl/matmul_tiled.wgsl', import.meta.url));
const subgroup = wgslFile('matmul_subgroup', new URL('./wgsl/matmul_subgroup.wgsl', import.meta.url));
const plainStore = wgslFile('matmul_store', new URL('./wgsl/matmul_store.wgsl', import.meta.url));
const epilogueStore = wgslFile('matmul_epilogue', new URL('./wgsl/matmul_epilogue.wgsl', import.meta.url));
const mathLib = wgslFile('math', new URL('./wgsl/math.wgsl', import.meta.url));

export interface MatmulProblem {
  readonly out: Operand;
  readonly a: Operand;
  readonly b: Operand;
}

/**
 * Linear's epilogue, applied to the accumulator before the store (matmul_epilogue.wgsl):
 * out = act(a·b + bias) + residual, and pre = a·b + bias written too when given (gelu's backward reads it).
 */
export interface MatmulEpilogue {
  /** [N], added along the output's last axis (any stride). */
  readonly bias: Operand | null;
  /** out's shape, dtype and contiguous layout (any offset). */
  readonly residual: Operand | null;
  /** out's shape and dtype, contiguous from element 0 like out. */
  readonly pre: Operand | null;
  readonly activation: MatmulActivation;
}

export type MatmulActivation = 'none' | 'gelu' | 'quick_gelu';
const ACT_CODE = { none: 0, gelu: 1, quick_gelu: 2 } as const satisfies Record<MatmulActivation, number>;

/**
 * A kernel and its `override` constants: WG invocations per workgroup, TM rows of C per invocation, TN
 * columns of C per workgroup. 'subgroup' (matmul_subgroup.wgsl) shares Y through subgroup broadcasts,
 * for CPU adapters; 'tiled' (matmul_tiled.wgsl) reads Y at workgroup-uniform addresses, for GPUs;
 * 'naive' is the reference kernel.
 */
export interface BlockedMatmulConfig {
  readonly kernel: 'subgroup' | 'tiled' | 'naive';
  readonly wg: number;
  readonly tm: number;
  readonly tn: number;
}

/** A register-blocked configuration, or the workgroup-memory tiled kernel's (matmul-wg.ts, for GPUs). */
export type MatmulConfig = BlockedMatmulConfig | WgMatmulConfig;

/** The register-blocked configurations; the tests run each of them against the float64 reference. */
export const matmulCandidates: readonly BlockedMatmulConfig[] = [
  { kernel: 'subgroup', wg: 8, tm: 4, tn: 16 },
  { kernel: 'subgroup', wg: 32, tm: 4, tn: 16 },
  { kernel: 'subgroup', wg: 32, tm: 4, tn: 8 },
  { kernel: 'subgroup', wg: 32, tm: 2, tn: 16 },
  { kernel: 'subgroup', wg: 8, tm: 2, tn: 32 },
  { kernel: 'tiled', wg: 64, tm: 1, tn: 8 },
  { kernel: 'tiled', wg: 64, tm: 2, tn: 4 },
  { kernel: 'tiled', wg: 128, tm: 1, tn: 4 },
];

/** The reference kernel, as a configuration that `runMatmul` can be forced to. */
export const naiveMatmulConfig: BlockedMatmulConfig = { kernel: 'naive', wg: 64, tm: 1, tn: 1 };

/** Whether adapter class `cls` can run `c` (subgroup kernel: subgroups of ≥ 8 lanes dividing WG; wg: limits). */
export function matmulUsableOn(c: MatmulConfig, cls: AdapterClass): boolean {
  if (c.kernel === 'wg') return wgMatmulUsable(c, cls);
  return c.kernel !== 'subgroup' || subgroupsTile(cls, c.wg);
}

/** Whether this device can run `c`. */
export function matmulConfigUsable(c: MatmulConfig): boolean {
  return matmulUsableOn(c, currentAdapterClass());
}

/**
 * The configuration for adapter class `cls` when nothing is forced or tuned. Software: measured (bench/NOTES.md)
 * — per-lane loads dominate on llvmpipe; one 8-lane subgroup per workgroup with 4×16 sums per lane loads
 * least per FMA and measured best at n = 1024–2048. GPU classes (NOT measured: no GPU has run Kiln yet): the
 * workgroup-memory tiled kernel where both M and N exceed 16, and the uniform-address register kernel for
 * thin products, where a 64×64 tile would idle most of its invocations.
 */
export function matmulDefaultFor(cls: AdapterClass, shape: { M: number; N: number }): MatmulConfig {
  const tiled = matmulCandidates.find((c) => c.kernel === 'tiled')!;
  if (cls.kind === 'software') {
    const sg = matmulCandidates[0]!;
    return matmulUsableOn(sg, cls) ? sg : matmulUsableOn(matmulCandidates[2]!, cls) ? matmulCandidates[2]! : tiled;
  }
  const wg = wgMatmulCandidates[0]!;
  return shape.M > 16 && shape.N > 16 && wgMatmulUsable(wg, cls) ? wg : tiled;
}

/** The configuration used on this device when nothing is forced or tuned (for a large square problem). */
export function defaultMatmulConfig(): MatmulConfig {
  return matmulDefaultFor(currentAdapterClass(), { M: 1024, N: 1024 });
}

/** Coarse shape class the tuning cache is keyed by: each of M, K, N as tiny (≤16), medium (≤256) or large. */
export function matmulShapeClass(M: number, K: number, N: number): string {
  const c = (v: number): string => (v <= 16 ? 's' : v <= 256 ? 'm' : 'l');
  return `${c(M)}${c(K)}${c(N)}`;
}

const matmulSources = sourcesHash([common, tiled, subgroup, plainStore, matmulWgSource]);

/** The tuning-cache key of a problem size. */
export function matmulTuneKey(M: number, K: number, N: number): TuneKey {
  return { kernel: 'matmul', source: matmulSources(), shapeClass: matmulShapeClass(M, K, N) };
}

function isConfig(c: unknown): c is MatmulConfig {
  if (typeof c === 'object' && c !== null && (c as { kernel?: unknown }).kernel === 'wg') return wgMatmulWellFormed(c as WgMatmulConfig);
  return [naiveMatmulConfig, ...matmulCandidates].some((k) => JSON.stringify(k) === JSON.stringify(c));
}

/**
 * Parses KILN_MATMUL: 'naive', 'subgroup:wg:tm:tn', 'tiled:wg:tm:tn' or 'wg:bm:bn:bk:tm:tn' (the
 * workgroup-memory kernel), e.g. KILN_MATMUL=wg:64:64:16:4:4.
 */
export function parseMatmulConfig(text: string): MatmulConfig {
  const [kernel, ...n] = text.split(':');
  const v = n.map(Number);
  const c: unknown = kernel === 'naive' ? naiveMatmulConfig
    : kernel === 'wg' && v.length === 5 ? { kernel: 'wg', wg: (v[0]! / v[3]!) * (v[1]! / v[4]!), bm: v[0], bn: v[1], bk: v[2], tm: v[3], tn: v[4] }
    : (kernel === 'subgroup' || kernel === 'tiled') && v.length === 3 ? { kernel, wg: v[0], tm: v[1], tn: v[2] } : null;
  if (!isConfig(c))
    throw new Error(`matmul: KILN_MATMUL must be naive, a candidate subgroup:wg:tm:tn or tiled:wg:tm:tn, or a well-formed wg:bm:bn:bk:tm:tn; got '${text}'`);
  return c;
}

/** The matmul choice point (select.ts): forced, tuned per shape class, or the adapter class's default. */
export const matmulSite: ChoiceSite<MatmulConfig, { M: number; K: number; N: number }> = {
  kernel: 'matmul',
  knob: 'KILN_MATMUL',
  parse: parseMatmulConfig,
  valid: isConfig,
  usable: matmulUsableOn,
  defaultFor: matmulDefaultFor,
  tuneKey: (s) => matmulTuneKey(s.M, s.K, s.N),
};
defineSite(matmulSite);

/** Records out = a @ b with `config`, else the forced, tuned or default configuration for this shape. */
export function runMatmul(p: MatmulProblem, config?: MatmulConfig): void {
  const s = sizes(p);
  if (s.M * s.N * s.batch === 0) return;
  const cfg = config ?? choose(matmulSite, s);
  if (cfg.kernel === 'naive' || s.K === 0) runNaive(p, s);
  else if (cfg.kernel === 'wg') runMatmulWg(p, cfg, s);
  // A forced configuration (tuner, tests) runs on the layout given; otherwise a k-major shared matrix is copied first.
  else if (config !== undefined) runBlocked(p, cfg, s);
  else withVec4Layout(p, (q) => runBlocked(q, cfg, sizes(q)));
}

/**
 * Records out = act(a @ b + bias) + residual in one register-blocked kernel (the epilogue in its store),
 * with `config` or the configuration runMatmul would choose. Returns false, recording nothing, where that
 * configuration is not a register-blocked one (the reference and workgroup-memory kernels have no
 * epilogue), K = 0, or the adapter binds too few storage buffers: the caller then composes the op.
 */
export function runMatmulEpilogue(p: MatmulProblem, ep: MatmulEpilogue, config?: MatmulConfig): boolean {
  const s = sizes(p);
  if (s.M * s.N * s.batch === 0) return true;
  const cfg = config ?? choose(matmulSite, s);
  if (cfg.kernel === 'naive' || cfg.kernel === 'wg' || s.K === 0) return false;
  const storage = gpu('matmul').info.limits['maxStorageBuffersPerShaderStage'] ?? 8;
  if (storage < (cfg.kernel === 'subgroup' ? 8 : 7)) return false;
  if (p.out.offset !== 0 || (ep.pre !== null && ep.pre.offset !== 0))
    throw new Error('matmul: the epilogue writes out and pre from element 0; got an offset view');
  if (config !== undefined) runBlocked(p, cfg, s, ep);
  else withVec4Layout(p, (q) => runBlocked(q, cfg, sizes(q), ep));
  return true;
}

/**
 * Measures the usable candidates on an f32 problem of the given size and caches the fastest for its
 * shape class (see tune.ts). Bounded: one warm-up and `runs` timed products per candidate.
 * @example await tuneMatmul({ M: 1024, K: 1024, N: 1024 });
 */
export async function tuneMatmul(
  shape: { M: number; K: number; N: number } = { M: 1024, K: 1024, N: 1024 },
  opts: TuneOptions & { candidates?: readonly MatmulConfig[] } = {},
): Promise<TuneResult<MatmulConfig>> {
  const { M, K, N } = shape;
  for (const [name, v] of [['M', M], ['K', K], ['N', N]] as const)
    if (!Number.isInteger(v) || v <= 0) throw new Error(`tuneMatmul: ${name} must be a positive integer, got ${v}`);
  const { device } = gpu('tuneMatmul');
  const usage = GPUBufferUsage.STORAGE;
  const buf = (n: number): GPUBuffer => device.createBuffer({ size: Math.max(16, Math.ceil((n * 4) / 16) * 16), usage });
  const [a, b, out] = [buf(M * K), buf(K * N), buf(M * N)];
  const op = (buffer: GPUBuffer, rows: number, cols: number): Operand => ({ buffer, dtype: 'f32', shape: [rows, cols], strides: [cols, 1], offset: 0 });
  const problem: MatmulProblem = { out: op(out, M, N), a: op(a, M, K), b: op(b, K, N) };
  const usable = (opts.candidates ?? [...matmulCandidates, ...wgMatmulCandidates]).filter(matmulConfigUsable);
  // The adapter's measured default goes first as the incumbent: a challenger must beat it clearly.
  const def = defaultMatmulConfig();
  const first = usable.findIndex((c) => JSON.stringify(c) === JSON.stringify(def));
  const candidates = first > 0 ? [usable[first]!, ...usable.filter((_, i) => i !== first)] : usable;
  try {
    return await tune(matmulTuneKey(M, K, N), candidates, (c) => runMatmul(problem, c), { runs: 5, ...opts, ...(first >= 0 ? { incumbent: 0 } : {}) });
  } finally {
    for (const x of [a, b, out]) x.destroy();
  }
}

interface Sizes {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly batch: number;
  /** Merged batch axes (at most 4) and the strides of a and b along them. */
  readonly bshape: number[];
  readonly abs: number[];
  readonly bbs: number[];
}

function sizes(p: MatmulProblem): Sizes {
  const r = p.a.shape.length;
  const c = coalesce(p.a.shape.slice(0, r - 2), [p.a.strides.slice(0, r - 2), p.b.strides.slice(0, r - 2)]);
  if (c.shape.length > 4) throw new Error('matmul: at most 4 non-mergeable batch dimensions are supported');
  const batch = c.shape.reduce((x, y) => x * y, 1);
  return { M: p.a.shape[r - 2]!, K: p.a.shape[r - 1]!, N: p.b.shape[r - 1]!, batch, bshape: c.shape, abs: c.strides[0]!, bbs: c.strides[1]! };
}

function typesOf(p: MatmulProblem, extensions: readonly string[] = []): string {
  const f16 = p.a.dtype === 'f16' || p.out.dtype === 'f16';
  return prelude({ T: wgslStorageType(p.a.dtype), O: wgslStorageType(p.out.dtype) }, f16, extensions);
}

/** For kiln.profile: [batch, M, K] · [batch, K, N], 2·M·N·K flops per batch. */
function matmulWork(s: Sizes): DispatchWork {
  return { op: 'matmul', shapes: [[s.batch, s.M, s.K], [s.batch, s.K, s.N]], flops: 2 * s.batch * s.M * s.N * s.K };
}

/**
 * What a blocked kernel's store needs: its source, bindings after the uniform, their buffers, overrides
 * and p.ep. `swap`: the kernel computes Cᵀ, so the bias runs along its rows. Absent operands are bound to
 * a read operand or a 16-byte scratch that the kernel never touches (the overrides turn their use off).
 */
interface Store {
  readonly code: string;
  readonly kinds: readonly ('read' | 'write')[];
  readonly buffers: readonly { buffer: GPUBuffer; offset: number; size: number }[];
  readonly overrides: Readonly<Record<string, number>>;
  readonly ep: readonly number[];
  readonly scratch: GPUBuffer | null;
  readonly name: string;
}

function storeFor(ep: MatmulEpilogue | undefined, swap: boolean, p: MatmulProblem): Store {
  if (ep === undefined) return { code: plainStore.text(), kinds: [], buffers: [], overrides: {}, ep: [], scratch: null, name: '' };
  const bs = ep.bias?.strides[0] ?? 0;
  const scratch = ep.pre === null ? acquireBuffer(16) : null;
  return {
    code: mathLib.text() + epilogueStore.text(),
    kinds: ['read', 'read', 'write'],
    buffers: [whole(ep.bias ?? p.a), whole(ep.residual ?? p.a), ep.pre ? whole(ep.pre) : { buffer: scratch!, offset: 0, size: 16 }],
    overrides: { HAS_BIAS: ep.bias ? 1 : 0, ACT: ACT_CODE[ep.activation], HAS_RES: ep.residual ? 1 : 0, SAVE_PRE: ep.pre ? 1 : 0 },
    ep: [ep.bias?.offset ?? 0, swap ? bs : 0, swap ? 0 : bs, ep.residual?.offset ?? 0],
    scratch,
    name: '+epilogue',
  };
}

function runBlocked(p: MatmulProblem, cfg: BlockedMatmulConfig, s: Sizes, ep?: MatmulEpilogue): void {
  const { swap, m, n, x, y, xVec, yVec } = orient(p, s.M, s.K, s.N, s.abs, s.bbs);
  const tilesN = Math.ceil(n / cfg.tn);
  const tilesM = Math.ceil(m / (cfg.wg * cfg.tm));
  const [gx, gy, gz] = grid(tilesN * tilesM * s.batch);
  const u = new UniformWriter()
    .u32(m, n, s.K, s.bshape.length, x.op.offset, x.rs, x.cs, tilesN)
    .u32(y.op.offset, y.rs, y.cs, tilesM, swap ? 1 : s.N, swap ? s.N : 1, gx, s.batch)
    .vecU32(s.bshape, 4).vecU32(x.bs, 4).vecU32(y.bs, 4);
  const st = storeFor(ep, swap, p);
  u.vecU32(st.ep, 4);
  const overrides = { WG: cfg.wg, TM: cfg.tm, TN: cfg.tn, ...st.overrides };
  if (cfg.kernel === 'subgroup') {
    const entry = xVec && yVec ? 'main_vec4' : 'main_scalar';
    dispatch({
      kernel: {
        name: `matmul:subgroup:${entry}${st.name}`,
        code: typesOf(p, ['subgroups']) + common.text() + subgroup.text() + st.code,
        entryPoint: entry,
        bindings: ['write', 'read', 'read', 'read', 'read', 'uniform', ...st.kinds],
        overrides,
      },
      buffers: [whole(p.out), whole(x.op), whole(y.op), whole(x.op), whole(y.op), ...st.buffers],
      uniforms: u.bytes(),
      workgroups: [gx, gy, gz],
      work: matmulWork(s),
    });
    if (st.scratch) releaseBuffer(st.scratch);
    return;
  }
  const entry = xVec ? 'main_vec4' : 'main_scalar';
  dispatch({
    kernel: {
      name: `matmul:tiled:${entry}${st.name}`,
      code: typesOf(p) + common.text() + tiled.text() + st.code,
      entryPoint: entry,
      bindings: ['write', 'read', 'read', 'read', 'uniform', ...st.kinds],
      overrides,
    },
    buffers: [whole(p.out), whole(x.op), whole(x.op), whole(y.op), ...st.buffers],
    uniforms: u.bytes(),
    workgroups: [gx, gy, gz],
    work: matmulWork(s),
  });
  if (st.scratch) releaseBuffer(st.scratch);
}

function runNaive(p: MatmulProblem, s: Sizes): void {
  const r = p.a.shape.length;
  // One workgroup per 8×8 outputs; batches beyond the z limit go in slices with their own offsets.
  const maxZ = gpu('matmul').info.limits['maxComputeWorkgroupsPerDimension'] || 65535;
  for (let z0 = 0; z0 < s.batch; z0 += maxZ) {
    const nz = Math.min(maxZ, s.batch - z0);
    // Slicing needs batch strides per slice: only contiguous-batch problems are sliced (z0 = 0 otherwise).
    if (z0 > 0 && s.bshape.length > 1) throw new Error(`matmul: batch ${s.batch} of rank ${s.bshape.length} exceeds the reference kernel's grid`);
    const u = new UniformWriter()
      .u32(s.M, s.N, s.K, nz, p.a.offset + z0 * (s.abs[0] ?? 0), p.a.strides[r - 2]!, p.a.strides[r - 1]!, s.bshape.length)
      .u32(p.b.offset + z0 * (s.bbs[0] ?? 0), p.b.strides[r - 2]!, p.b.strides[r - 1]!, z0 * s.M * s.N)
      .vecU32(s.bshape, 4).vecU32(s.abs, 4).vecU32(s.bbs, 4);
    dispatch({
      kernel: { name: 'matmul:naive', code: typesOf(p) + naive.text(), bindings: ['write', 'read', 'read', 'uniform'] },
      buffers: [whole(p.out), whole(p.a), whole(p.b)],
      uniforms: u.bytes(),
      workgroups: [Math.ceil(s.N / 8), Math.ceil(s.M / 8), nz],
      work: { op: 'matmul', shapes: [[nz, s.M, s.K], [nz, s.K, s.N]], flops: 2 * nz * s.M * s.N * s.K },
    });
  }
}
