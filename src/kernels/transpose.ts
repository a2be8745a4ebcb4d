// Launcher for the copy of a transposed view (transpose.wgsl): out [batch, R, C] with unit-stride rows
// from an input whose unit stride runs along the output's rows — `x.mT.contiguous()`, Linear's Wᵀ made
// row-major before a matmul. The elementwise copy reads such a view one scattered element per lane; this
// kernel reads and writes 4×4 blocks as vec4 runs. Bitwise the same result (u32 words are moved).

import { dispatch, grid } from '../device/batch.js';
import { byteSize } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { wgslFile } from './source.js';
import { maxBinding } from './windows.js';

const common = wgslFile('transpose', new URL('./wgsl/transpose.wgsl', import.meta.url));
const entries = {
  vec4: wgslFile('transpose_vec4', new URL('./wgsl/transpose_vec4.wgsl', import.meta.url)),
  scalar: wgslFile('transpose_scalar', new URL('./wgsl/transpose_scalar.wgsl', import.meta.url)),
};

/** Output tile of one workgroup (64 lanes × 4×4 blocks). */
const TILE = 32;

/**
 * Whether `runTranspose` copies `src` into `out` (same shape [R, C] or [batch, R, C]): a 4-byte dtype on
 * both sides, out's rows unit-stride, src unit-stride along out's rows (stride 1 on axis −2), distinct
 * buffers that each fit in one binding.
 */
export function transposeApplies(out: Operand, src: Operand): boolean {
  const r = out.shape.length;
  return (r === 2 || r === 3) && src.shape.length === r && out.dtype === src.dtype && byteSize(out.dtype) === 4
    && out.strides[r - 1] === 1 && src.strides[r - 2] === 1 && src.strides[r - 1] !== 1
    && out.buffer !== src.buffer && out.window === undefined && src.window === undefined
    && out.buffer.size <= maxBinding() && src.buffer.size <= maxBinding();
}

/** Records out[b, r, c] = src[b, r, c] for operands `transposeApplies` accepts. */
export function runTranspose(out: Operand, src: Operand): void {
  if (!transposeApplies(out, src)) throw new Error(`transpose: unsupported operands ${JSON.stringify([out.shape, out.strides, src.strides])}`);
  const r = out.shape.length;
  const [R, C] = [out.shape[r - 2]!, out.shape[r - 1]!];
  const batch = r === 3 ? out.shape[0]! : 1;
  if (R * C * batch === 0) return;
  const [ics, ors] = [src.strides[r - 1]!, out.strides[r - 2]!];
  const [ibs, obs] = r === 3 ? [src.strides[0]!, out.strides[0]!] : [0, 0];
  const aligned = [R, C, ics, ors, ibs, obs, src.offset, out.offset].every((v) => v % 4 === 0);
  const [tilesR, tilesC] = [Math.ceil(R / TILE), Math.ceil(C / TILE)];
  const [gx, gy, gz] = grid(tilesR * tilesC * batch);
  const u = new UniformWriter().u32(R, C, batch, tilesC, src.offset, ics, ibs, tilesR, out.offset, ors, obs, gx);
  const entry = aligned ? 'vec4' : 'scalar';
  dispatch({
    kernel: { name: `transpose:${entry}`, code: common.text() + entries[entry].text(), bindings: ['write', 'read', 'uniform'] },
    buffers: [whole(out), whole(src)],
    uniforms: u.bytes(),
    workgroups: [gx, gy, gz],
    work: { op: 'transpose', shapes: [[batch, R, C]], bytes: 8 * R * C * batch },
  });
}
