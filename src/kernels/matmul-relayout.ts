// Operand layout for the register-blocked matmuls: which operand the kernel reads as X (contiguous along
// k) and whether both operands suit the vec4 entry; and a relayout before the product when they do not.
// Linear's x·Wᵀ reads W [out, in] k-major (Y not contiguous along n) and a weight gradient xᵀ·g reads x
// k-major (X not contiguous along k): the blocked kernels would take their per-element `main_scalar`
// entry. Copying one operand into its transposed storage (transpose.wgsl) lets them take `main_vec4`; the
// products and their summation order are the same (bitwise), only the loads change. Taken only where the
// copy is small against the product (bench/NOTES.md, issue 19).

import { acquireBuffer, releaseBuffer } from '../device/pool.js';
import { byteSize } from './dtype.js';
import { type ElementwiseKernel, runElementwise } from './elementwise.js';
import type { MatmulProblem } from './matmul.js';
import { type Operand, coalesce } from './operand.js';

const COPY: ElementwiseKernel = { name: 'matmul-relayout', expr: 'a0', compute: 'f32', result: 'f32' };

/**
 * When the copy pays, measured on the software adapter (bench/matmul-relayout.mjs, bench/NOTES.md): the
 * tiled transpose costs a few ns an element plus a dispatch, and main_vec4 saves a fraction of a ns per
 * multiply-add against main_scalar. Products of at least MIN_FMAS multiply-adds doing at least
 * MIN_FMAS_PER_COPIED per copied element gained 2–29% of CPU time at the CLIP and demo ImageBind shapes;
 * smaller ones (the demo's 1088×64×64) lost up to 2× to the extra dispatch.
 */
const MIN_FMAS_PER_COPIED = 64;
const MIN_FMAS = 1 << 23;

/** One operand as the kernels read it: its row and column strides in the kernel's orientation. */
export interface Side {
  readonly op: Operand;
  readonly rs: number;
  readonly cs: number;
  readonly bs: readonly number[];
}

/** C = X·Y as the blocked kernels run it: X is A (or Bᵀ when swapped, C written transposed), Y the other. */
export interface Orientation {
  readonly swap: boolean;
  readonly m: number;
  readonly n: number;
  readonly x: Side;
  readonly y: Side;
  /** X contiguous along k and Y along n, both 4-aligned (K % 4 = 0, n % 4 = 0): the vec4 entry applies. */
  readonly xVec: boolean;
  readonly yVec: boolean;
}

/** A vec4 view of `o` along its fast axis: stride 1 there and every other offset a multiple of 4. */
function vec4Ok(offset: number, fast: number, slow: number, batchStrides: readonly number[]): boolean {
  return fast === 1 && offset % 4 === 0 && slow % 4 === 0 && batchStrides.every((s) => s % 4 === 0);
}

/**
 * The kernels spread the rows of X over the lanes and read them along k, so X should be the operand that
 * is contiguous in k: C = A·B (X = A, Y = B), or Cᵀ = Bᵀ·Aᵀ (X = Bᵀ, Y = Aᵀ) written through transposed
 * output strides when only B is k-contiguous. `abs` / `bbs` are the merged batch strides of a and b.
 */
export function orient(p: MatmulProblem, M: number, K: number, N: number, abs: readonly number[], bbs: readonly number[]): Orientation {
  const r = p.a.shape.length;
  const [ars, acs, brs, bcs] = [p.a.strides[r - 2]!, p.a.strides[r - 1]!, p.b.strides[r - 2]!, p.b.strides[r - 1]!];
  const swap = acs !== 1 && brs === 1;
  const [m, n] = swap ? [N, M] : [M, N];
  const x = swap ? { op: p.b, rs: bcs, cs: brs, bs: bbs } : { op: p.a, rs: ars, cs: acs, bs: abs };
  const y = swap ? { op: p.a, rs: acs, cs: ars, bs: abs } : { op: p.b, rs: brs, cs: bcs, bs: bbs };
  return { swap, m, n, x, y, xVec: K % 4 === 0 && vec4Ok(x.op.offset, x.cs, x.rs, x.bs), yVec: n % 4 === 0 && vec4Ok(y.op.offset, y.cs, y.rs, y.bs) };
}

interface Flip {
  /** `o`'s strides in the scratch (broadcast batch axes stay 0). */
  readonly strides: number[];
  /** The copy: `src` (a view of `o` with unit stride on axis −2) into a row-major [nb, rows, cols] scratch. */
  readonly shape: number[];
  readonly srcStrides: number[];
  readonly elements: number;
}

/**
 * The layout of `o` ([..., R, C], unit stride on one of its last two axes) moved into scratch with the
 * unit stride on the other axis. Its batch axes that are not broadcast (stride 0 or extent 1) must merge
 * into one; null when they do not. The copy is the elementwise copy, which hands 4-byte words to the tiled
 * transpose (f16 takes the strided elementwise kernel).
 */
function flipLayout(o: Operand): Flip | null {
  const r = o.shape.length;
  const [R, C] = [o.shape[r - 2]!, o.shape[r - 1]!];
  const [rs, cs] = [o.strides[r - 2]!, o.strides[r - 1]!];
  if (o.window !== undefined || (rs !== 1 && cs !== 1) || R === 1 || C === 1) return null;
  const live = o.shape.slice(0, r - 2).map((n, d) => ({ n, s: o.strides[d]!, d })).filter((a) => a.n > 1 && a.s !== 0);
  const m = coalesce(live.map((a) => a.n), [live.map((a) => a.s)]);
  if (m.shape.length > 1) return null;
  const nb = m.shape[0] ?? 1;
  const toRowMajor = rs === 1;
  const [rows, cols] = toRowMajor ? [R, C] : [C, R];
  const lead = nb > 1 ? [nb] : [];
  const strides = o.shape.slice(0, r - 2).map(() => 0);
  let step = R * C;
  for (const a of [...live].reverse()) {
    strides[a.d] = step;
    step *= a.n;
  }
  strides.push(...(toRowMajor ? [C, 1] : [1, R]));
  return { strides, shape: [...lead, rows, cols], srcStrides: [...(nb > 1 ? [m.strides[0]![0]!] : []), 1, toRowMajor ? cs : rs], elements: nb * R * C };
}

/** Copies `o` into a scratch buffer in layout `f`; the caller releases the buffer. */
function flipped(o: Operand, f: Flip): { op: Operand; buffer: GPUBuffer } {
  const buffer = acquireBuffer(Math.max(16, f.elements * byteSize(o.dtype)));
  const t = f.shape.length;
  const dst: Operand = { buffer, dtype: o.dtype, shape: f.shape, strides: [...(t === 3 ? [f.shape[1]! * f.shape[2]!] : []), f.shape[t - 1]!, 1], offset: 0 };
  runElementwise(COPY, dst, [{ ...o, shape: f.shape, strides: f.srcStrides }]);
  return { op: { buffer, dtype: o.dtype, shape: o.shape, strides: f.strides, offset: 0 }, buffer };
}

/** Batch strides of a and b merged as sizes() in matmul.ts merges them. */
function merged(p: MatmulProblem): { abs: number[]; bbs: number[] } {
  const r = p.a.shape.length;
  const c = coalesce(p.a.shape.slice(0, r - 2), [p.a.strides.slice(0, r - 2), p.b.strides.slice(0, r - 2)]);
  return { abs: c.strides[0]!, bbs: c.strides[1]! };
}

/**
 * Runs `run` on `p`, or on a copy of `p` with one operand moved into its transposed storage when that
 * turns a problem the vec4 kernel cannot read into one it can. Of the two operands the one with fewer
 * distinct elements is copied; only for a product of ≥ MIN_FMAS multiply-adds that does ≥
 * MIN_FMAS_PER_COPIED per copied element.
 */
export function withVec4Layout(p: MatmulProblem, run: (p: MatmulProblem) => void): void {
  const r = p.a.shape.length;
  const [M, K, N] = [p.a.shape[r - 2]!, p.a.shape[r - 1]!, p.b.shape[r - 1]!];
  const batch = p.out.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const fmas = batch * M * N * K;
  const vec4 = (q: MatmulProblem): boolean => {
    const { abs, bbs } = merged(q);
    const o = orient(q, M, K, N, abs, bbs);
    return o.xVec && o.yVec;
  };
  if (K % 4 !== 0 || vec4(p)) {
    run(p);
    return;
  }
  const distinct = (o: Operand): number => o.shape.reduce((acc, n, d) => acc * (d >= r - 2 || o.strides[d] !== 0 ? n : 1), 1);
  const sides = distinct(p.a) <= distinct(p.b) ? (['a', 'b'] as const) : (['b', 'a'] as const);
  for (const side of sides) {
    const o = p[side];
    const f = flipLayout(o);
    if (f === null || fmas < MIN_FMAS || fmas < MIN_FMAS_PER_COPIED * f.elements) continue;
    const with_ = (op: Operand): MatmulProblem => (side === 'a' ? { ...p, a: op } : { ...p, b: op });
    // Whether the flipped layout takes the vec4 entry is decided on its strides before copying.
    if (!vec4(with_({ ...o, offset: 0, strides: f.strides }))) continue;
    const { op, buffer } = flipped(o, f);
    run(with_(op));
    releaseBuffer(buffer);
    return;
  }
  run(p);
}
