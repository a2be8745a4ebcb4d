// Launchers for the fused softmax-InfoNCE (CLIP) loss: the one-pass kernels for CPU adapters with 8-lane
// subgroups (one sweep forward, one sweep backward) and the plain per-side kernels for everything else.
// Not the op: see tensor/ops/infonce.ts.

import { dispatch, grid } from '../device/batch.js';
import { type AdapterClass, currentAdapterClass, subgroupsExactly } from './adapter-class.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { type ChoiceSite, choose, defineSite, sourcesHash } from './select.js';
import { prelude, wgslFile } from './source.js';

const fwd = wgslFile('infonce_forward', new URL('./wgsl/infonce_forward.wgsl', import.meta.url));
const bwd = wgslFile('infonce_backward', new URL('./wgsl/infonce_backward.wgsl', import.meta.url));
const fwdOne = wgslFile('infonce_forward_onepass', new URL('./wgsl/infonce_forward_onepass.wgsl', import.meta.url));
const cols = wgslFile('infonce_columns', new URL('./wgsl/infonce_columns.wgsl', import.meta.url));
const bwdOne = wgslFile('infonce_backward_onepass', new URL('./wgsl/infonce_backward_onepass.wgsl', import.meta.url));

/** One side of the loss for the plain kernels: rows of X [n, 4·d4] against rows of Y; side 0 is (a, b), side 1 (b, a). */
export interface InfoNCEProblem {
  readonly n: number;
  /** Embedding width in vec4s (the op pads D to a multiple of 4 with zeros). */
  readonly d4: number;
  readonly side: 0 | 1;
  readonly hasLabels: boolean;
}

/** Kernel choice: WG invocations per workgroup, TM rows per invocation, TN columns per step. */
export interface InfoNCETiles {
  readonly wg: number;
  readonly tm: number;
  readonly tn: number;
  /**
   * The one-pass kernels, for CPU adapters with 8-lane subgroups: wg = 8 (one subgroup), tn = 8 or 16 (the
   * backward's columns per read-modify-write of da; the forward always steps 8 columns).
   */
  readonly sg?: boolean;
  /** Slots of the one-pass backward (row sweeps, each with a partial db [n, D]); default 4. */
  readonly slots?: number;
}

function isTiles(t: unknown): t is InfoNCETiles {
  if (typeof t !== 'object' || t === null) return false;
  const { wg, tm, tn, sg, slots } = t as Record<string, unknown>;
  const int = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
  if (!int(wg) || !int(tm) || !int(tn) || tm > 4 || (sg !== undefined && typeof sg !== 'boolean') || (slots !== undefined && !int(slots))) return false;
  return sg === true ? wg === 8 && (tn === 8 || tn === 16) : wg <= 1024 && tn <= 16 && tm * tn <= 16;
}

/** KILN_INFONCE_TILES=wg,tm,tn or 8,tm,8|16,sg[,slots]: forces a choice (bench/infonce.mjs measures candidates this way). */
export function parseInfoNCETiles(text: string): InfoNCETiles {
  const [wg, tm, tn, sg, slots] = text.split(',');
  const t = { wg: Number(wg), tm: Number(tm), tn: Number(tn), sg: sg === 'sg', ...(slots ? { slots: Number(slots) } : {}) };
  if (!isTiles(t) || (sg !== undefined && sg !== 'sg'))
    throw new Error(`infoNCE: KILN_INFONCE_TILES must be wg,tm,tn with tm ≤ 4, tn ≤ 16, tm·tn ≤ 16, or 8,tm,8|16,sg[,slots]; got '${text}'`);
  return t;
}

/**
 * Defaults per adapter class. Software with 8-lane subgroups (llvmpipe, measured): the one-pass kernels at
 * tm = 4, tn = 16, 4 backward slots (fwd + bwd ~0.8× the CPU time of the unfused composition at N×D =
 * 256×512 … 1024×1024; tn = 8 ~0.92×, tn = 32 spills; the per-side subgroup kernels they replace were
 * 1.16–1.41×; bench/NOTES.md). Other software adapters: the plain kernels with TM·TN = 16 and TM = 4, which
 * loads least there (every Y vector once per TM rows, every X vector once per TN columns, both per-lane
 * gathers), the workgroup shrunk for small n so that both cores get work (≥ 4 workgroups). GPU classes (NOT
 * measured): 64 lanes × 2 rows, 8 columns per step.
 */
export function infoNCEDefaultFor(cls: AdapterClass, n: number): InfoNCETiles {
  if (cls.kind !== 'software') return { wg: 64, tm: 2, tn: 8 };
  if (subgroupsExactly(cls, 8)) return { wg: 8, tm: 4, tn: 16, sg: true };
  let wg = 64;
  while (wg > 8 && Math.ceil(n / (wg * 4)) < 4) wg /= 2;
  return { wg, tm: 4, tn: 4 };
}

const infoNCESources = sourcesHash([fwd, bwd, fwdOne, cols, bwdOne]);

/** The InfoNCE choice point (select.ts): per size class of n, forced, tuned or the adapter class's default. */
export const infoNCESite: ChoiceSite<InfoNCETiles, number> = {
  kernel: 'infonce',
  knob: 'KILN_INFONCE_TILES',
  parse: parseInfoNCETiles,
  valid: isTiles,
  usable: (t, cls) => t.sg !== true || subgroupsExactly(cls, 8),
  defaultFor: infoNCEDefaultFor,
  tuneKey: (n) => ({
    kernel: 'infonce',
    source: infoNCESources(),
    shapeClass: n <= 256 ? 's' : n <= 2048 ? 'm' : 'l',
  }),
};
defineSite(infoNCESite);

/** The tiles for a loss over n pairs; a forced one-pass choice falls back to the plain kernels (tn = 4) without 8-lane subgroups. */
export function infoNCETiles(n: number): InfoNCETiles {
  const t = choose(infoNCESite, n);
  return t.sg === true && !subgroupsExactly(currentAdapterClass(), 8) ? { wg: t.wg, tm: t.tm, tn: 4 } : t;
}

/** stats [4n] f32 ← this side's log-sum-exps (at side·n) and loss terms lse_r − v[r, label_r] (at (2+side)·n). */
export function runInfoNCEForward(p: InfoNCEProblem, stats: Operand, x: Operand, y: Operand, labels: Operand, scale: Operand, tiles: InfoNCETiles): void {
  const wgs = grid(Math.ceil(p.n / (tiles.wg * tiles.tm)));
  dispatch({
    kernel: { name: 'infonce_forward', code: prelude({ T: wgslStorageType(x.dtype) }, x.dtype === 'f16') + fwd.text(), bindings: ['write', 'read', 'read', 'read', 'read', 'uniform'], overrides: { WG: tiles.wg, TM: tiles.tm, TN: tiles.tn } },
    buffers: [whole(stats), whole(x), whole(y), whole(labels), whole(scale)],
    uniforms: new UniformWriter().u32(p.n, p.d4, p.side, p.hasLabels ? 1 : 0, wgs[0]).bytes(),
    workgroups: wgs,
  });
}

/** dx [n, 4·d4] f32 and part[side·n + r] (Σ_c G·⟨X_r, Y_c⟩) from the forward's stats and the loss gradient g [1]. */
export function runInfoNCEBackward(p: InfoNCEProblem, dx: Operand, part: Operand, x: Operand, y: Operand, labels: Operand, scale: Operand, g: Operand, stats: Operand, tiles: InfoNCETiles): void {
  const wgs = grid(Math.ceil(p.n / (tiles.wg * tiles.tm)));
  dispatch({
    kernel: { name: 'infonce_backward', code: prelude({ T: wgslStorageType(x.dtype) }, x.dtype === 'f16') + bwd.text(), bindings: ['write', 'write', 'read', 'read', 'read', 'read', 'read', 'read', 'uniform'], overrides: { WG: tiles.wg, TM: tiles.tm, TN: tiles.tn } },
    buffers: [whole(dx), whole(part), whole(x), whole(y), whole(labels), whole(scale), whole(g), whole(stats)],
    uniforms: new UniformWriter().u32(p.n, p.d4, p.side, p.hasLabels ? 1 : 0, wgs[0]).f32(1 / (2 * p.n)).bytes(),
    workgroups: wgs,
  });
}

/** Slots of the one-pass forward: one per row chunk of 8·tm rows, at most 64 (its partials are [slots, n]). */
export function forwardSlots(n: number, tm: number): number {
  return Math.min(64, Math.ceil(n / (8 * tm)));
}

/**
 * Slots of the one-pass backward: `want` (default 4: both cores busy with slack for load on llvmpipe),
 * at most one per row chunk, and at most what keeps the partials [slots, n, 4·d4] f32 within 64 MiB.
 */
export function backwardSlots(n: number, d4: number, tm: number, want = 4): number {
  const cap = Math.floor((64 * 2 ** 20) / (n * d4 * 16));
  return Math.max(1, Math.min(want, Math.ceil(n / (8 * tm)), cap));
}

/**
 * One sweep over s·a·bᵀ: stats[0, n) and [2n, 3n) ← the rows' lse and loss terms, colp [slots, n] (vec2) ←
 * per-slot column (max, Σexp); then stats[n, 2n) and [3n, 4n) ← the columns' lse and loss terms.
 */
export function runInfoNCEForwardOnePass(n: number, d4: number, hasLabels: boolean, tm: number, stats: Operand, colp: Operand, a: Operand, b: Operand, labels: Operand, scale: Operand): void {
  const slots = forwardSlots(n, tm);
  dispatch({
    kernel: { name: 'infonce_forward_onepass', code: prelude({ T: wgslStorageType(a.dtype) }, a.dtype === 'f16', ['subgroups']) + fwdOne.text(), bindings: ['write', 'write', 'read', 'read', 'read', 'read', 'uniform'], overrides: { TM: tm } },
    buffers: [whole(stats), whole(colp), whole(a), whole(b), whole(labels), whole(scale)],
    uniforms: new UniformWriter().u32(n, d4, hasLabels ? 1 : 0, slots).bytes(),
    workgroups: [slots, 1, 1],
  });
  const wgs = grid(Math.ceil(n / 64));
  dispatch({
    kernel: { name: 'infonce_columns', code: prelude({}, false) + cols.text(), bindings: ['write', 'read', 'read', 'uniform'], overrides: { WG: 64 } },
    buffers: [whole(stats), whole(colp), whole(labels)],
    uniforms: new UniformWriter().u32(n, slots, hasLabels ? 1 : 0, wgs[0]).bytes(),
    workgroups: wgs,
  });
}

/** da [n, 4·d4], dbp [slots, n, 4·d4] (per-slot partials of db) and part [n] (Σ_c G·⟨a_r, b_c⟩) in one sweep. */
export function runInfoNCEBackwardOnePass(n: number, d4: number, hasLabels: boolean, tm: number, cb: number, slots: number, out: { da: Operand; dbp: Operand; part: Operand }, a: Operand, b: Operand, labels: Operand, scale: Operand, g: Operand, stats: Operand): void {
  dispatch({
    kernel: { name: 'infonce_backward_onepass', code: prelude({ T: wgslStorageType(a.dtype) }, a.dtype === 'f16', ['subgroups']) + bwdOne.text(), bindings: ['write', 'write', 'write', 'read', 'read', 'read', 'read', 'read', 'read', 'uniform'], overrides: { TM: tm, CB: cb } },
    buffers: [whole(out.da), whole(out.dbp), whole(out.part), whole(a), whole(b), whole(labels), whole(scale), whole(g), whole(stats)],
    uniforms: new UniformWriter().u32(n, d4, hasLabels ? 1 : 0, slots).f32(1 / (2 * n)).bytes(),
    workgroups: [slots, 1, 1],
  });
}
