// Launcher for the deterministic scatter-add along one dimension (scatterAdd, and the gradients of gather
// and indexSelect). Short index lines are scanned directly; longer ones are counting-sorted first
// (index-bucket.wgsl) so each output reads only its own bucket. Both sum in increasing position order.

import { dispatch, grid } from '../device/batch.js';
import { acquireBuffer, releaseBuffer } from '../device/pool.js';
import { gpu } from '../device/gpu.js';
import { byteSize, computeType, wgslStorageType } from './dtype.js';
import { MAX_INDEX_RANK, indexType } from './index-gather.js';
import { runScatterRows, scatterRowsApplies } from './index-scatter-rows.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const scatterSource = wgslFile('index-scatter', new URL('./wgsl/index-scatter.wgsl', import.meta.url));
const bucketSource = wgslFile('index-bucket', new URL('./wgsl/index-bucket.wgsl', import.meta.url));
/** Lines up to this long are scanned by every output (O(len) each) instead of counting-sorted. */
export const DIRECT_MAX_LEN = 16;

const all = (buffer: GPUBuffer): { buffer: GPUBuffer; offset: number; size: number } => ({ buffer, offset: 0, size: buffer.size });

/**
 * out (contiguous) = base (or 0) + src scattered along `dim` at `index`. `index.shape` is the grid of
 * source positions (≤ src.shape; ≤ out.shape off `dim`); index strides of 0 mark dimensions over which
 * every line holds the same values, which are then sorted once.
 */
export function runScatterAdd(out: Operand, base: Operand | null, src: Operand, index: Operand, dim: number, direct?: boolean): void {
  const n = out.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const rank = out.shape.length;
  if (rank > MAX_INDEX_RANK) throw new Error(`kiln: scatter-add supports at most ${MAX_INDEX_RANK} dimensions, got ${rank}`);
  const len = index.shape[dim]!;
  const size = out.shape[dim]!;
  // Lines: the index grid off `dim`, less the dimensions it broadcasts over.
  const lineDims = index.shape.map((_, d) => d).filter((d) => d !== dim && index.strides[d] !== 0 && index.shape[d]! > 1);
  const lst = new Array<number>(rank).fill(0);
  let lines = 1;
  for (let k = lineDims.length - 1; k >= 0; k--) {
    lst[lineDims[k]!] = lines;
    lines *= index.shape[lineDims[k]!]!;
  }
  const bucketed = !(direct ?? len <= DIRECT_MAX_LEN) && lines * len > 0;
  const I = indexType(index);
  const t = wgslStorageType(out.dtype);
  let ends = index.buffer;
  let perm = index.buffer;
  if (bucketed) {
    ends = acquireBuffer(lines * size * 4);
    perm = acquireBuffer(lines * len * 4);
    const u = new UniformWriter()
      .u32(lines, len, size, index.offset, lineDims.length, index.strides[dim]!, 0, 0)
      .vecU32(lineDims.map((d) => index.shape[d]!), MAX_INDEX_RANK)
      .vecU32(lineDims.map((d) => index.strides[d]!), MAX_INDEX_RANK);
    dispatch({
      kernel: { name: 'index-bucket', code: prelude({ I }, false) + bucketSource.text(), bindings: ['write', 'write', 'read', 'uniform'] },
      buffers: [all(ends), all(perm), whole(index)],
      uniforms: u.bytes(),
      workgroups: grid(Math.ceil(lines / 64)),
    });
  }
  const limit = gpu().info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27;
  if (bucketed && scatterRowsApplies(out, base, src, index, dim, lines, limit)) {
    runScatterRows(out, base, src, ends, perm);
    releaseBuffer(ends);
    releaseBuffer(perm);
    return;
  }
  const b = base ?? src;
  // An output past one binding (an embedding table's gradient) is written in windows of whole 256-byte
  // blocks; every output still sums its own contributions, so the windows change nothing in the result.
  const bytes = byteSize(out.dtype);
  const per = out.offset === 0 && out.buffer.size > limit ? Math.floor(limit / 256) * (256 / bytes) : n;
  for (let first = 0; first < n; first += per) {
    const count = Math.min(per, n - first);
    const u = new UniformWriter()
      .u32(n, rank, dim, len, size, b.offset, src.offset, index.offset, base ? 1 : 0, first, count, 0)
      .vecU32(out.shape, MAX_INDEX_RANK)
      .vecU32(base ? base.strides : [], MAX_INDEX_RANK)
      .vecU32(src.strides, MAX_INDEX_RANK)
      .vecU32(index.strides, MAX_INDEX_RANK)
      .vecU32(index.shape, MAX_INDEX_RANK)
      .vecU32(lst, MAX_INDEX_RANK);
    const window = per === n ? whole(out) : { buffer: out.buffer, offset: first * bytes, size: Math.min(Math.ceil((count * bytes) / 4) * 4, out.buffer.size - first * bytes) };
    dispatch({
      kernel: {
        name: 'index-scatter',
        code: prelude({ T: t, C: computeType(out.dtype), I }, t === 'f16') + scatterSource.text(),
        bindings: ['write', 'read', 'read', 'read', 'read', 'read', 'uniform'],
        overrides: { BUCKETED: bucketed ? 1 : 0 },
      },
      buffers: [window, whole(b), whole(src), whole(index), all(ends), all(perm)],
      uniforms: u.bytes(),
      workgroups: grid(Math.ceil(count / 256)),
    });
  }
  if (bucketed) {
    releaseBuffer(ends);
    releaseBuffer(perm);
  }
}
