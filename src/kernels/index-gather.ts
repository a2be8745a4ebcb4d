// Launcher for gather along one dimension (gather, and indexSelect through a stride-0 index): one
// invocation per output element, strided x and index read directly. Not the scatter-add (index-scatter.ts).

import { dispatch, grid } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { byteSize, wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('index-gather', new URL('./wgsl/index-gather.wgsl', import.meta.url));
const WG = 256;
/** Dimensions the indexing kernels address (shapes and strides travel as 8-entry uniforms). */
export const MAX_INDEX_RANK = 8;

/** The WGSL type an index is stored as; callers have checked the dtype is i32 or u32. */
export function indexType(index: Operand): 'i32' | 'u32' {
  return index.dtype === 'i32' ? 'i32' : 'u32';
}

/**
 * out (contiguous, shaped like `index`) = x gathered along `dim`: out[p] = x[p with p[dim] = index[p]].
 * `index.shape[d] <= x.shape[d]` for d ≠ dim; its strides may be 0 (broadcast).
 */
export function runGather(out: Operand, x: Operand, index: Operand, dim: number): void {
  const n = out.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  if (out.shape.length > MAX_INDEX_RANK) throw new Error(`kiln: gather supports at most ${MAX_INDEX_RANK} dimensions, got ${out.shape.length}`);
  const t = wgslStorageType(x.dtype);
  const code = prelude({ T: t, I: indexType(index) }, t === 'f16') + source.text();
  const size = x.shape[dim]!;
  for (const w of tableWindows(x, dim)) {
    const u = new UniformWriter()
      .u32(n, out.shape.length, dim, size, w.x.offset, index.offset, w.lo, w.hi)
      .vecU32(out.shape, MAX_INDEX_RANK)
      .vecU32(x.strides, MAX_INDEX_RANK)
      .vecU32(index.strides, MAX_INDEX_RANK);
    dispatch({
      kernel: { name: 'index-gather', code, bindings: ['write', 'read', 'read', 'uniform'] },
      buffers: [whole(out), whole(w.x), whole(index)],
      uniforms: u.bytes(),
      workgroups: grid(Math.ceil(n / WG)),
    });
  }
}

/**
 * Index ranges [lo, hi) along `dim` whose part of x fits in one binding (a single range covering all of
 * x when it fits), with x rebased into each window. Needs `dim` to carry x's largest stride when x is
 * larger than a binding — the embedding-table case (rows of [V, D]).
 */
function tableWindows(x: Operand, dim: number): { lo: number; hi: number; x: Operand }[] {
  const size = x.shape[dim]!;
  const limit = gpu().info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27;
  if (x.buffer.size <= limit) return [{ lo: 0, hi: size, x }];
  const b = byteSize(x.dtype);
  const st = x.strides[dim]!;
  const rest = x.shape.reduce((acc, s, d) => (d === dim ? acc : acc + (s - 1) * x.strides[d]!), 0);
  if (x.strides.some((s, d) => d !== dim && s > st))
    throw new Error(`kiln: gather from a ${x.buffer.size}-byte tensor needs its indexed dimension to be the outermost in memory`);
  const per = Math.max(1, Math.floor((Math.floor((limit - 512) / b) - rest - 1) / Math.max(st, 1)) + 1);
  const out: { lo: number; hi: number; x: Operand }[] = [];
  for (let lo = 0; lo < size; lo += per) {
    const hi = Math.min(size, lo + per);
    const first = x.offset + lo * st;
    const start = Math.floor((first * b) / 256) * 256;
    const end = Math.min(Math.ceil(((first + (hi - lo - 1) * st + rest + 1) * b) / 4) * 4, x.buffer.size);
    out.push({ lo, hi, x: { ...x, offset: first - start / b, window: { offset: start, size: end - start } } });
  }
  return out;
}
