// Launchers for the fused softmax-InfoNCE (CLIP) loss: the forward (log-sum-exps and loss terms of one
// side) and the backward (dX and the partials of dL/ds for one side). Not the op: see tensor/ops/infonce.ts.

import { dispatch, grid } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const fwd = wgslFile('infonce_forward', new URL('./wgsl/infonce_forward.wgsl', import.meta.url));
const bwd = wgslFile('infonce_backward', new URL('./wgsl/infonce_backward.wgsl', import.meta.url));
const fwdSg = wgslFile('infonce_forward_sg', new URL('./wgsl/infonce_forward_sg.wgsl', import.meta.url));
const bwdSg = wgslFile('infonce_backward_sg', new URL('./wgsl/infonce_backward_sg.wgsl', import.meta.url));

/** One side of the loss: rows of X [n, 4·d4] against rows of Y; side 0 is (a, b), side 1 is (b, a). */
export interface InfoNCEProblem {
  readonly n: number;
  /** Embedding width in vec4s (the op pads D to a multiple of 4 with zeros). */
  readonly d4: number;
  readonly side: 0 | 1;
  readonly hasLabels: boolean;
}

/** `override` constants: WG invocations per workgroup, TM rows per invocation, TN columns per step. */
export interface InfoNCETiles {
  readonly wg: number;
  readonly tm: number;
  readonly tn: number;
  /** The subgroup-broadcast kernels (infonce_*_sg.wgsl, tn = 8), for CPU adapters with subgroups. */
  readonly sg?: boolean;
}

/** Whether the subgroup kernels can run: subgroups of ≥ 8 lanes whose size divides WG. */
function subgroupsUsable(wg: number): boolean {
  const ctx = gpu('infoNCE');
  const info = ctx.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const min = info.subgroupMinSize ?? 0;
  const max = info.subgroupMaxSize ?? 0;
  return ctx.hasSubgroups && min >= 8 && max > 0 && wg % max === 0;
}

/**
 * Defaults. llvmpipe (bench/infonce.mjs, N = 1024, D = 512, fwd + bwd, one busy-machine run): wg,tm,tn =
 * 64,1,8: 6.0 s; 64,2,8: 3.1 s; 64,4,4: 3.3 s; 32,4,4: 3.4 s (a quieter run: 64,1,8 5.5 s, 64,2,4 3.9 s,
 * 64,4,4 0.92 s). Every lane loads every Y vector once per TM rows and every X vector once per TN columns,
 * both per-lane gathers there, so TM·TN = 16 with TM = 4 loads least; the workgroup shrinks for small n so
 * that both cores get work (≥ 4 workgroups). GPUs (not measured): 64 lanes × 2 rows, 8 columns per step.
 * With subgroups, llvmpipe runs the broadcast kernels at tm = 4, tn = 8 instead: 2.2–2.4× less CPU time
 * than 4×4 at N = 256–1024, D = 512/1024 (bench/infonce.mjs, one run).
 * `KILN_INFONCE_TILES=wg,tm,tn[,sg]` overrides the choice, for measuring candidates (read on every launch).
 */
export function infoNCETiles(n: number): InfoNCETiles {
  const forced = typeof process === 'undefined' ? undefined : process.env['KILN_INFONCE_TILES'];
  if (forced) {
    const [wg, tm, tn, sg] = forced.split(',');
    const t = { wg: Number(wg), tm: Number(tm), tn: Number(tn), sg: sg === 'sg' };
    const ok = t.wg && t.tm && t.tn && t.tm <= 4 && (t.sg ? t.tn === 8 : t.tn <= 16 && t.tm * t.tn <= 16);
    if (!ok) throw new Error(`infoNCE: KILN_INFONCE_TILES must be wg,tm,tn with tm ≤ 4, tn ≤ 16, tm·tn ≤ 16, or wg,tm,8,sg; got '${forced}'`);
    return t;
  }
  const { info } = gpu('infoNCE');
  const software = info.architecture === 'software' || info.vendor === 'mesa' || info.description.includes('llvmpipe');
  if (!software) return { wg: 64, tm: 2, tn: 8 };
  let wg = 64;
  while (wg > 8 && Math.ceil(n / (wg * 4)) < 4) wg /= 2;
  return subgroupsUsable(wg) ? { wg, tm: 4, tn: 8, sg: true } : { wg, tm: 4, tn: 4 };
}

function setup(p: InfoNCEProblem, x: Operand, tiles: InfoNCETiles): { sg: boolean; code: string; overrides: Record<string, number>; wgs: [number, number, number] } {
  const wgs = grid(Math.ceil(p.n / (tiles.wg * tiles.tm)));
  const sg = tiles.sg === true && subgroupsUsable(tiles.wg);
  const code = prelude({ T: wgslStorageType(x.dtype) }, x.dtype === 'f16', sg ? ['subgroups'] : []);
  return { sg, code, overrides: sg ? { WG: tiles.wg, TM: tiles.tm } : { WG: tiles.wg, TM: tiles.tm, TN: tiles.sg ? 4 : tiles.tn }, wgs };
}

/** stats [4n] f32 ← this side's log-sum-exps (at side·n) and loss terms lse_r − v[r, label_r] (at (2+side)·n). */
export function runInfoNCEForward(p: InfoNCEProblem, stats: Operand, x: Operand, y: Operand, labels: Operand, scale: Operand, tiles = infoNCETiles(p.n)): void {
  if (p.n === 0) return;
  const { sg, code, overrides, wgs } = setup(p, x, tiles);
  dispatch({
    kernel: { name: sg ? 'infonce_forward_sg' : 'infonce_forward', code: code + (sg ? fwdSg : fwd).text(), bindings: ['write', 'read', 'read', 'read', 'read', 'uniform'], overrides },
    buffers: [whole(stats), whole(x), whole(y), whole(labels), whole(scale)],
    uniforms: new UniformWriter().u32(p.n, p.d4, p.side, p.hasLabels ? 1 : 0, wgs[0]).bytes(),
    workgroups: wgs,
  });
}

/** dx [n, 4·d4] f32 and part[side·n + r] (Σ_c G·⟨X_r, Y_c⟩) from the forward's stats and the loss gradient g [1]. */
export function runInfoNCEBackward(
  p: InfoNCEProblem,
  dx: Operand,
  part: Operand,
  x: Operand,
  y: Operand,
  labels: Operand,
  scale: Operand,
  g: Operand,
  stats: Operand,
  tiles = infoNCETiles(p.n),
): void {
  if (p.n === 0) return;
  const { sg, code, overrides, wgs } = setup(p, x, tiles);
  dispatch({
    kernel: { name: sg ? 'infonce_backward_sg' : 'infonce_backward', code: code + (sg ? bwdSg : bwd).text(), bindings: ['write', 'write', 'read', 'read', 'read', 'read', 'read', 'read', 'uniform'], overrides },
    buffers: [whole(dx), whole(part), whole(x), whole(y), whole(labels), whole(scale), whole(g), whole(stats)],
    uniforms: new UniformWriter().u32(p.n, p.d4, p.side, p.hasLabels ? 1 : 0, wgs[0]).f32(1 / (2 * p.n)).bytes(),
    workgroups: wgs,
  });
}
