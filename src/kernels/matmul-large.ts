// Matmul whose operands are larger than one storage binding (maxStorageBufferBindingSize, 128 MiB on the
// software adapter): the product is cut into blocks over (batch, M, N, K) whose operand windows each fit,
// every block is computed into a scratch tile, and the tiles are written (first K block) or added (later K
// blocks, in order, so the result is deterministic) into the output through windowed elementwise kernels.

import { gpu } from '../device/gpu.js';
import { acquireBuffer, releaseBuffer } from '../device/pool.js';
import { byteSize } from './dtype.js';
import { type ElementwiseKernel, runElementwise } from './elementwise.js';
import { type MatmulProblem, runMatmul } from './matmul.js';
import { type Operand, coalesce } from './operand.js';

const COPY: ElementwiseKernel = { name: 'matmul-tile-copy', expr: 'a0', compute: 'f32', result: 'f32' };
const ADD: ElementwiseKernel = { name: 'matmul-tile-add', expr: 'a0 + a1', compute: 'f32', result: 'f32' };

/** @internal Overrides the adapter's maxStorageBufferBindingSize (tests; 0: the adapter's), as conv's convLimits. */
export const matmulLimits = { maxBindingBytes: 0 };

function limit(): number {
  return matmulLimits.maxBindingBytes || (gpu().info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27);
}

/** Elements a strided 2-D block [rows, cols] spans in its buffer. */
function span(rows: number, cols: number, rs: number, cs: number): number {
  return (rows - 1) * rs + (cols - 1) * cs + 1;
}

/** True when some operand of the problem is larger than one binding. */
export function needsBlocks(p: MatmulProblem): boolean {
  const l = limit();
  return p.out.buffer.size > l || p.a.buffer.size > l || p.b.buffer.size > l;
}

/** Window of `o` (element offset `first`, `count` elements) aligned for binding; `o` rebased into it. */
function windowed(o: Operand, first: number, count: number, shape: number[], strides: number[]): Operand {
  const b = byteSize(o.dtype);
  const align = Math.max(gpu().info.limits['minStorageBufferOffsetAlignment'] ?? 256, 256);
  const start = Math.floor((first * b) / align) * align;
  const end = Math.min(Math.ceil(((first + count) * b) / 4) * 4, o.buffer.size);
  return { ...o, shape, strides, offset: first - start / b, window: { offset: start, size: end - start } };
}

export function runMatmulBlocks(p: MatmulProblem): void {
  const r = p.a.shape.length;
  const M = p.a.shape[r - 2]!;
  const K = p.a.shape[r - 1]!;
  const N = p.b.shape[r - 1]!;
  const [ars, acs, brs, bcs] = [p.a.strides[r - 2]!, p.a.strides[r - 1]!, p.b.strides[r - 2]!, p.b.strides[r - 1]!];
  const bytes = byteSize(p.a.dtype);
  const room = Math.floor((limit() - 512) / Math.max(bytes, 4));
  // Shrink the block until every window fits: halve whichever extent dominates the largest window.
  let [mc, nc, kc] = [M, N, K];
  for (let guard = 0; guard < 200; guard++) {
    const aSpan = span(mc, kc, ars, acs);
    const bSpan = span(kc, nc, brs, bcs);
    if (aSpan <= room && bSpan <= room && mc * nc <= room) break;
    if (aSpan > room) {
      if ((mc - 1) * ars >= (kc - 1) * acs && mc > 1) mc = Math.ceil(mc / 2);
      else kc = Math.ceil(kc / 2);
    } else if (bSpan > room) {
      if ((nc - 1) * bcs >= (kc - 1) * brs && nc > 1) nc = Math.ceil(nc / 2);
      else kc = Math.ceil(kc / 2);
    } else if (mc >= nc) mc = Math.ceil(mc / 2);
    else nc = Math.ceil(nc / 2);
  }
  const bc = coalesce(p.a.shape.slice(0, r - 2), [p.a.strides.slice(0, r - 2), p.b.strides.slice(0, r - 2)]);
  const batch = bc.shape.reduce((x, y) => x * y, 1);
  const tile = acquireBuffer(mc * nc * 4);
  // An f16 output summed over several K blocks accumulates in an f32 block first: adding the blocks in f16
  // would round every partial sum to 11 bits (the kernels themselves accumulate in f32).
  const acc = p.out.dtype !== 'f32' && kc < K ? acquireBuffer(mc * nc * 4) : null;
  for (let z = 0; z < batch; z++) {
    let aOff = p.a.offset;
    let bOff = p.b.offset;
    let rem = z;
    for (let d = bc.shape.length - 1; d >= 0; d--) {
      const c = rem % bc.shape[d]!;
      rem = Math.floor(rem / bc.shape[d]!);
      aOff += c * bc.strides[0]![d]!;
      bOff += c * bc.strides[1]![d]!;
    }
    for (let m0 = 0; m0 < M; m0 += mc)
      for (let n0 = 0; n0 < N; n0 += nc) {
        const m = Math.min(mc, M - m0);
        const n = Math.min(nc, N - n0);
        const outView: Operand = { ...p.out, shape: [m, n], strides: [N, 1], offset: p.out.offset + (z * M + m0) * N + n0 };
        const tileOp: Operand = { buffer: tile, dtype: 'f32', shape: [m, n], strides: [n, 1], offset: 0 };
        const sumOp: Operand = acc ? { ...tileOp, buffer: acc } : outView;
        for (let k0 = 0; k0 < K; k0 += kc) {
          const k = Math.min(kc, K - k0);
          const a = windowed(p.a, aOff + m0 * ars + k0 * acs, span(m, k, ars, acs), [m, k], [ars, acs]);
          const b = windowed(p.b, bOff + k0 * brs + n0 * bcs, span(k, n, brs, bcs), [k, n], [brs, bcs]);
          runMatmul({ out: tileOp, a, b });
          if (k0 === 0) runElementwise({ ...COPY, result: 'f32' }, sumOp, [tileOp]);
          else runElementwise(ADD, sumOp, [sumOp, tileOp]);
        }
        if (acc) runElementwise(COPY, outView, [sumOp]);
      }
  }
  releaseBuffer(tile);
  if (acc) releaseBuffer(acc);
}
