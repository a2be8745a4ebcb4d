// Launchers for fused softmax / log-softmax forward and backward along one axis. The forward has a vec4
// path for contiguous rows whose length is a multiple of 4 (softmax_vec4.wgsl) and a strided path for the rest.

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { type RowLayout, rowLayout, rowWork } from './rows.js';
import { prelude, wgslFile } from './source.js';

const forward = wgslFile('softmax', new URL('./wgsl/softmax.wgsl', import.meta.url));
const forwardVec4 = wgslFile('softmax_vec4', new URL('./wgsl/softmax_vec4.wgsl', import.meta.url));
const backward = wgslFile('softmax_backward', new URL('./wgsl/softmax_backward.wgsl', import.meta.url));

function code(src: { text(): string }, o: Operand): string {
  return prelude({ T: wgslStorageType(o.dtype) }, o.dtype === 'f16') + src.text();
}

/**
 * True when every row of x and y is one unit-stride run of a length divisible by 4, rows follow each other
 * at that length, and both start at a multiple of 4 elements: then every row is whole vec4s.
 */
function vec4Rows(L: RowLayout, n: number, x: Operand, y: Operand): boolean {
  if (n % 4 !== 0 || x.offset % 4 !== 0 || y.offset % 4 !== 0 || L.step[0] !== 1 || L.step[1] !== 1) return false;
  if (L.shape.length === 0) return true;
  return L.shape.length === 1 && L.outer[0]![0] === n && L.outer[1]![0] === n;
}

/** y = softmax(x) (or log-softmax) along `axis`; x and y have one shape. */
export function runSoftmax(y: Operand, x: Operand, axis: number, log: boolean): void {
  const L = rowLayout([x, y], axis);
  const n = x.shape[axis]!;
  if (L.rows === 0 || n === 0) return;
  if (vec4Rows(L, n, x, y)) {
    dispatch({
      kernel: { name: `softmax_vec4${log ? ':log' : ''}`, code: code(forwardVec4, x), bindings: ['write', 'read', 'uniform'], overrides: { LOG: log ? 1 : 0 } },
      buffers: [whole(y), whole(x)],
      uniforms: new UniformWriter().u32(L.rows, n / 4, x.offset / 4, y.offset / 4).bytes(),
      workgroups: grid(Math.ceil(L.rows / 64)),
      work: rowWork(log ? 'logSoftmax' : 'softmax', L.rows, n, [x, y]),
    });
    return;
  }
  const u = new UniformWriter()
    .u32(L.rows, x.shape[axis]!, L.shape.length, 0, x.offset, L.step[0]!, y.offset, L.step[1]!)
    .vecU32(L.shape, 8).vecU32(L.outer[0]!, 8).vecU32(L.outer[1]!, 8);
  dispatch({
    kernel: { name: `softmax${log ? ':log' : ''}`, code: code(forward, x), bindings: ['write', 'read', 'uniform'], overrides: { LOG: log ? 1 : 0 } },
    buffers: [whole(y), whole(x)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(L.rows / 64)),
    work: rowWork(log ? 'logSoftmax' : 'softmax', L.rows, n, [x, y]),
  });
}

/** dx from the saved output y and the output gradient g. */
export function runSoftmaxBackward(dx: Operand, y: Operand, g: Operand, axis: number, log: boolean): void {
  const L = rowLayout([dx, y, g], axis);
  if (L.rows === 0 || y.shape[axis] === 0) return;
  const u = new UniformWriter()
    .u32(L.rows, y.shape[axis]!, L.shape.length, 0)
    .u32(dx.offset, L.step[0]!, y.offset, L.step[1]!, g.offset, L.step[2]!, 0, 0)
    .vecU32(L.shape, 8).vecU32(L.outer[0]!, 8).vecU32(L.outer[1]!, 8).vecU32(L.outer[2]!, 8);
  dispatch({
    kernel: { name: `softmax_backward${log ? ':log' : ''}`, code: code(backward, y), bindings: ['write', 'read', 'read', 'uniform'], overrides: { LOG: log ? 1 : 0 } },
    buffers: [whole(dx), whole(y), whole(g)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(L.rows / 64)),
    work: rowWork(log ? 'logSoftmax_backward' : 'softmax_backward', L.rows, y.shape[axis]!, [dx, y, g]),
  });
}
