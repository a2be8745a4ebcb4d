// Launchers for fused softmax / log-softmax forward and backward along one axis.

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { rowLayout } from './rows.js';
import { prelude, wgslFile } from './source.js';

const forward = wgslFile('softmax', new URL('./wgsl/softmax.wgsl', import.meta.url));
const backward = wgslFile('softmax_backward', new URL('./wgsl/softmax_backward.wgsl', import.meta.url));

function code(src: { text(): string }, o: Operand): string {
  return prelude({ T: wgslStorageType(o.dtype) }, o.dtype === 'f16') + src.text();
}

/** y = softmax(x) (or log-softmax) along `axis`; x and y have one shape. */
export function runSoftmax(y: Operand, x: Operand, axis: number, log: boolean): void {
  const L = rowLayout([x, y], axis);
  if (L.rows === 0 || x.shape[axis] === 0) return;
  const u = new UniformWriter()
    .u32(L.rows, x.shape[axis]!, L.shape.length, 0, x.offset, L.step[0]!, y.offset, L.step[1]!)
    .vecU32(L.shape, 8).vecU32(L.outer[0]!, 8).vecU32(L.outer[1]!, 8);
  dispatch({
    kernel: { name: `softmax${log ? ':log' : ''}`, code: code(forward, x), bindings: ['write', 'read', 'uniform'], overrides: { LOG: log ? 1 : 0 } },
    buffers: [whole(y), whole(x)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(L.rows / 64)),
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
  });
}
