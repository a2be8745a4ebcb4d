// Launchers for flash attention: the forward (online softmax over key tiles, saving lse per query row) and
// the three backward kernels (Δ = Σ dO·O, dq over query rows, dk/dv over key rows). Knows nothing of
// Tensor or autograd; the op (src/tensor/ops/attention.ts) decides layouts and what is saved.

import { dispatch, grid } from '../device/batch.js';
import type { DispatchWork } from '../device/probe.js';
import { type AdapterClass, currentAdapterClass, subgroupsTile } from './adapter-class.js';
import { attentionWgCommon, attentionWgDkdv, attentionWgDq, attentionWgForward, attentionWgUsable } from './attention-wg.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { philoxLib } from './random.js';
import { type ChoiceSite, choose, defineSite, sourcesHash } from './select.js';
import { prelude, wgslFile } from './source.js';
import { forceKernel } from './tune.js';

const common = wgslFile('attention_common', new URL('./wgsl/attention_common.wgsl', import.meta.url));
const gradCommon = wgslFile('attention_grad_common', new URL('./wgsl/attention_grad_common.wgsl', import.meta.url));
const forward = wgslFile('attention_forward', new URL('./wgsl/attention_forward.wgsl', import.meta.url));
const regCommon = wgslFile('attention_reg_common', new URL('./wgsl/attention_reg_common.wgsl', import.meta.url));
const forwardReg = wgslFile('attention_forward_reg', new URL('./wgsl/attention_forward_reg.wgsl', import.meta.url));
const dqReg = wgslFile('attention_dq_reg', new URL('./wgsl/attention_dq_reg.wgsl', import.meta.url));
const dkdvReg = wgslFile('attention_dkdv_reg', new URL('./wgsl/attention_dkdv_reg.wgsl', import.meta.url));
const delta = wgslFile('attention_delta', new URL('./wgsl/attention_delta.wgsl', import.meta.url));
const dqSource = wgslFile('attention_dq', new URL('./wgsl/attention_dq.wgsl', import.meta.url));
const dkdvSource = wgslFile('attention_dkdv', new URL('./wgsl/attention_dkdv.wgsl', import.meta.url));

/** Work shape per adapter: `wg` rows (one per invocation) per workgroup, `bk` keys per forward tile (≤ 32). */
export interface AttentionConfig {
  readonly wg: number;
  readonly bk: number;
  /**
   * The CPU-adapter kernels, when the device has subgroups: 'reg' (head dim a compile-time constant, rows
   * in registers, keys/values shared by broadcast) or 'none' (the plain kernels). Default 'reg' on software
   * adapters, 'none' elsewhere.
   */
  readonly sg?: 'reg' | 'none';
  /**
   * The GPU kernels (attention-wg.ts): key/value tiles of `bk` rows (query/dO tiles in dk/dv) in workgroup
   * memory, `bk` KiB of it. Takes precedence over `sg`; falls back to the plain kernels where the adapter's
   * workgroup storage is too small.
   */
  readonly shared?: boolean;
}

function isAttentionConfig(c: unknown): c is AttentionConfig {
  if (typeof c !== 'object' || c === null) return false;
  const { wg, bk, sg, shared } = c as Record<string, unknown>;
  return Number.isInteger(wg) && (wg as number) >= 1 && (wg as number) <= 1024 && Number.isInteger(bk) && (bk as number) >= 1 && (bk as number) <= 32 &&
    (sg === undefined || sg === 'reg' || sg === 'none') && (shared === undefined || typeof shared === 'boolean');
}

/** Forces a configuration (benchmarks and tests) through the choice mechanism; null restores the normal choice. */
export function setAttentionConfig(c: AttentionConfig | null): void {
  if (c && !isAttentionConfig(c)) throw new Error(`attention: bk must be in 1..32 and wg in 1..1024, got ${JSON.stringify(c)}`);
  forceKernel('attention', c);
}

/** KILN_ATTENTION=wg:bk[:reg|none|shared] (bench/attention.mjs measures candidates this way). */
export function parseAttentionConfig(text: string): AttentionConfig {
  const [wg, bk, mode = 'reg'] = text.split(':');
  const c = { wg: Number(wg), bk: Number(bk), ...(mode === 'shared' ? { shared: true } : { sg: mode }) };
  if (!isAttentionConfig(c) || !['reg', 'none', 'shared'].includes(mode)) throw new Error(`attention: KILN_ATTENTION must be wg:bk[:reg|none|shared] with bk in 1..32, got '${text}'`);
  return c;
}

/** Which kernels `c` runs on adapter class `cls`: the ones it asks for where the class can run them, else the plain ones. */
export function attentionKernels(c: AttentionConfig, cls: AdapterClass): 'shared' | 'reg' | 'none' {
  if (c.shared === true && attentionWgUsable(c, cls)) return 'shared';
  return c.sg === 'reg' && subgroupsTile(cls, c.wg) && cls.kind === 'software' ? 'reg' : 'none';
}

/**
 * Software (llvmpipe, measured): 16 rows (two 8-lane SIMD chunks) per workgroup and the register kernels
 * ('reg': 5–7× less CPU time than the removed runtime-head-dim broadcast forward at B·H = 32, L = 197/257,
 * D = 64/80; wg 8 was within noise of 16). GPU classes (NOT measured): 64 rows per workgroup with 16-row
 * key/value tiles in workgroup memory (16 KiB, the WebGPU default), else the plain kernels.
 */
export function attentionDefaultFor(cls: AdapterClass): AttentionConfig {
  if (cls.kind === 'software') return { wg: 16, bk: 16, sg: 'reg' };
  const shared: AttentionConfig = { wg: 64, bk: 16, shared: true };
  return attentionWgUsable(shared, cls) ? shared : { wg: 64, bk: 16, sg: 'none' };
}

const attentionSources = sourcesHash([common, gradCommon, regCommon, attentionWgCommon, forward, forwardReg, dqSource, dqReg, dkdvSource, dkdvReg, attentionWgForward, attentionWgDq, attentionWgDkdv]);

/** The attention choice point (select.ts): one configuration for every shape. */
export const attentionSite: ChoiceSite<AttentionConfig, null> = {
  kernel: 'attention',
  knob: 'KILN_ATTENTION',
  parse: parseAttentionConfig,
  valid: isAttentionConfig,
  usable: (c, cls) => attentionKernels(c, cls) === (c.shared === true ? 'shared' : c.sg === 'reg' ? 'reg' : 'none'),
  defaultFor: attentionDefaultFor,
  tuneKey: () => ({ kernel: 'attention', source: attentionSources(), shapeClass: '*' }),
};
defineSite(attentionSite);

/** The configuration in force: forced, tuned, or the adapter class's default. */
export function attentionConfig(): AttentionConfig {
  return choose(attentionSite, null);
}

export interface AttentionProblem {
  readonly B: number;
  readonly H: number;
  readonly Lq: number;
  readonly Lk: number;
  readonly D: number;
  readonly scale: number;
  readonly causal: boolean;
  /** u32 words (f32 bits, or 0/1), read at `strides` (batch, head, query, key) from `offset`. */
  readonly mask: { readonly operand: Operand; readonly kind: 'additive' | 'boolean'; readonly strides: readonly number[] } | null;
  /** Packed bias-kv rows [2H, D] (keys, then values), contiguous. */
  readonly bias: Operand | null;
  readonly dropout: { readonly p: number; readonly seed: number; readonly offset: number } | null;
}

/** The (offset, batch, head, row) strides of a [B, H, L, D] operand whose head dim is contiguous. */
const rowStrides = (o: Operand): number[] => [o.offset, o.strides[0]!, o.strides[1]!, o.strides[2]!];
const split = (x: number): [number, number] => [x % 2 ** 32 >>> 0, Math.floor(x / 2 ** 32) >>> 0];

function uniforms(pb: AttentionProblem, tiles: number, q: Operand, k: Operand, v: Operand, g: Operand | null): Uint8Array {
  const d = pb.dropout;
  const [k0, k1] = split(d?.seed ?? 0);
  const [o0, o1] = split(d?.offset ?? 0);
  const p = d?.p ?? 0;
  return new UniformWriter()
    .u32(pb.B, pb.H, pb.Lq, pb.Lk, pb.bias ? 1 : 0, tiles, pb.D, Math.ceil(pb.D / 4))
    .f32(pb.scale, p, p >= 1 ? 0 : 1 / (1 - p), -Infinity)
    .u32(k0, k1, o0, o1)
    .vecU32(rowStrides(q), 4).vecU32(rowStrides(k), 4).vecU32(rowStrides(v), 4).vecU32(g ? rowStrides(g) : [0, 0, 0, 0], 4)
    .vecU32(pb.mask?.strides ?? [0, 0, 0, 0], 4)
    .u32(pb.mask?.operand.offset ?? 0, pb.mask ? (pb.mask.kind === 'additive' ? 1 : 2) : 0, pb.causal ? 1 : 0, pb.dropout ? 1 : 0)
    .bytes();
}

function spec(name: string, texts: readonly string[], dtype: Operand['dtype'], c: AttentionConfig, extra: Record<string, number> = {}) {
  // Head dim, mask kind, causal and dropout are uniforms: one pipeline per kernel serves them all (a compile
  // of these kernels by llvmpipe takes seconds).
  return { name, code: prelude({ T: wgslStorageType(dtype) }, dtype === 'f16') + texts.join('\n'), overrides: { WG: c.wg, ...extra } };
}

/** Binds absent optional inputs (mask, bias) to a buffer that is only read. */
const optional = (o: Operand | null | undefined, fallback: Operand) => whole(o ?? fallback);

/**
 * The register kernels' D4: the head dim rounded up to a multiple of 16, in vec4s. Each value is its own
 * pipeline (an LLVM compile of seconds, then Mesa's disk cache): 8 at most, for D ≤ 128.
 */
export const headVec4s = (d: number): number => Math.max(4, Math.ceil(d / 16) * 4);

/** The kernels `c` asks for, or the plain ones where this device cannot run them. */
const kernelMode = (c: AttentionConfig): 'shared' | 'reg' | 'none' => attentionKernels(c, currentAdapterClass());

/**
 * For kiln.profile: `products` Lq×Lk×D matrix products per (batch, head) at 2 flops each — the forward
 * computes QKᵀ and PV; dq recomputes QKᵀ and forms dP and dQ; dk/dv recompute QKᵀ and form dP, dK and dV.
 */
function attentionWork(pb: AttentionProblem, op: string, products: number): DispatchWork {
  return { op, shapes: [[pb.B, pb.H, pb.Lq, pb.D], [pb.B, pb.H, pb.Lk, pb.D]], flops: 2 * products * pb.B * pb.H * pb.Lq * pb.Lk * pb.D };
}

/** out [B, H, Lq, D] and lse [B·H·Lq] (f32) from strided q, k, v. */
export function runAttentionForward(pb: AttentionProblem, out: Operand, lse: Operand, q: Operand, k: Operand, v: Operand): void {
  if (pb.B * pb.H * pb.Lq === 0) return;
  const c = attentionConfig();
  const tiles = Math.ceil(pb.Lq / c.wg);
  const mode = kernelMode(c);
  const reg = mode === 'reg';
  const plain = mode === 'shared' ? attentionWgForward : forward;
  const texts = [philoxLib.text(), common.text(), ...(reg ? [regCommon.text(), forwardReg.text()] : mode === 'shared' ? [attentionWgCommon.text(), plain.text()] : [plain.text()])];
  const extra: Record<string, number> = reg ? { BK: c.bk, D4: headVec4s(pb.D) } : { BK: c.bk };
  const k0 = spec(reg ? 'attention_forward_reg' : plain.name, texts, q.dtype, c, extra);
  dispatch({
    // subgroup builtins need the extension enabled ahead of the prelude's aliases
    kernel: { ...k0, code: (reg ? 'enable subgroups; ' : '') + k0.code, bindings: ['write', 'write', 'read', 'read', 'read', 'read', 'read', 'uniform'] },
    buffers: [whole(out), whole(lse), whole(q), whole(k), whole(v), optional(pb.mask?.operand, q), optional(pb.bias, q)],
    uniforms: uniforms(pb, tiles, q, k, v, null),
    workgroups: grid(pb.B * pb.H * tiles),
    work: attentionWork(pb, 'attention', 2),
  });
}

/**
 * The backward: ld = (lse, Δ) [B·H·Lq, 2] (f32 scratch), dq [B, H, Lq, D] and dkv = dk ‖ dv ‖ per-(b, h)
 * bias-kv partials, all contiguous; o is the saved (contiguous) forward output, g the strided dO.
 */
export function runAttentionBackward(pb: AttentionProblem, grads: { dq: Operand; dkv: Operand; ld: Operand }, q: Operand, k: Operand, v: Operand, o: Operand, lse: Operand, g: Operand): void {
  const rows = pb.B * pb.H * pb.Lq;
  if (rows === 0) return;
  const c = attentionConfig();
  dispatch({
    kernel: { name: 'attention_delta', code: prelude({ T: wgslStorageType(o.dtype) }, o.dtype === 'f16') + delta.text(), bindings: ['write', 'read', 'read', 'read', 'uniform'] },
    buffers: [whole(grads.ld), whole(lse), whole(o), whole(g)],
    uniforms: new UniformWriter().u32(rows, pb.Lq, pb.H, pb.D).vecU32(rowStrides(g), 4).bytes(),
    workgroups: grid(Math.ceil(rows / 64)),
  });
  const mode = kernelMode(c);
  const reg = mode === 'reg';
  const texts = [philoxLib.text(), common.text(), gradCommon.text(), ...(reg ? [regCommon.text()] : mode === 'shared' ? [attentionWgCommon.text()] : [])];
  const extra: Record<string, number> = reg ? { D4: headVec4s(pb.D) } : mode === 'shared' ? { BK: c.bk } : {};
  const [dqPlain, dkdvPlain] = mode === 'shared' ? [attentionWgDq, attentionWgDkdv] : [dqSource, dkdvSource];
  const sgEnable = (k: ReturnType<typeof spec>) => ({ ...k, code: (reg ? 'enable subgroups; ' : '') + k.code });
  const bindings = ['write', 'read', 'read', 'read', 'read', 'read', 'read', 'read', 'uniform'] as const;
  const inputs = [whole(q), whole(k), whole(v), whole(g), whole(grads.ld), optional(pb.mask?.operand, q), optional(pb.bias, q)];
  const qTiles = Math.ceil(pb.Lq / c.wg);
  dispatch({
    kernel: { ...sgEnable(spec(reg ? 'attention_dq_reg' : dqPlain.name, [...texts, (reg ? dqReg : dqPlain).text()], q.dtype, c, extra)), bindings },
    buffers: [whole(grads.dq), ...inputs],
    uniforms: uniforms(pb, qTiles, q, k, v, g),
    workgroups: grid(pb.B * pb.H * qTiles),
    work: attentionWork(pb, 'attention_backward', 3),
  });
  const nk = pb.Lk + (pb.bias ? 1 : 0);
  if (nk === 0) return;
  const kTiles = Math.ceil(nk / c.wg);
  dispatch({
    kernel: { ...sgEnable(spec(reg ? 'attention_dkdv_reg' : dkdvPlain.name, [...texts, (reg ? dkdvReg : dkdvPlain).text()], q.dtype, c, extra)), bindings },
    buffers: [whole(grads.dkv), ...inputs],
    uniforms: uniforms(pb, kTiles, q, k, v, g),
    workgroups: grid(pb.B * pb.H * kTiles),
    work: attentionWork(pb, 'attention_backward', 4),
  });
}
