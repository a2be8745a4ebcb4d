// Launcher for the one-invocation counter kernel: an optimizer's per-parameter step (advanced unless the skip
// flag is raised) and its count of skipped steps (advanced when it is).

import { dispatch } from '../device/batch.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { wgslFile } from './source.js';

const source = wgslFile('flag_count', new URL('./wgsl/flag_count.wgsl', import.meta.url));

/** Adds one to the f32 `counter` element when the f32 `flag` element is zero, or when it is raised. */
export function runFlagCount(counter: Operand, flag: Operand, whenRaised: boolean): void {
  dispatch({
    kernel: { name: 'flag-count', code: source.text(), bindings: ['write', 'read', 'uniform'], overrides: { WHEN_RAISED: whenRaised ? 1 : 0 } },
    buffers: [whole(counter), whole(flag)],
    uniforms: new UniformWriter().u32(counter.offset, flag.offset, 0, 0).bytes(),
    workgroups: [1, 1, 1],
  });
}
