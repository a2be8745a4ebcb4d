// Launcher for the counter kernel: an optimizer's per-parameter steps (advanced unless the skip flag is
// raised), 7 counters a dispatch, and its count of skipped steps (advanced when it is).

import { dispatch } from '../device/batch.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { wgslFile } from './source.js';
import { spareBuffers } from './spare-buffers.js';

const source = wgslFile('flag_count', new URL('./wgsl/flag_count.wgsl', import.meta.url));

/** Counters one dispatch advances (with the flag: WebGPU's minimum of 8 storage buffers per stage). */
export const COUNTERS_PER_DISPATCH = 7;

/**
 * Adds one to each f32 `counters` element (distinct buffers) when the f32 `flag` element is zero, or when it
 * is raised: one dispatch per 7 counters.
 */
export function runFlagCount(counters: readonly Operand[], flag: Operand, whenRaised: boolean): void {
  for (let start = 0; start < counters.length; start += COUNTERS_PER_DISPATCH) {
    const chunk = counters.slice(start, start + COUNTERS_PER_DISPATCH);
    const spares = spareBuffers(COUNTERS_PER_DISPATCH - chunk.length);
    dispatch({
      kernel: { name: 'flag-count', code: source.text(), bindings: ['read', ...Array<'write'>(COUNTERS_PER_DISPATCH).fill('write'), 'uniform'], overrides: { WHEN_RAISED: whenRaised ? 1 : 0 } },
      buffers: [whole(flag), ...chunk.map(whole), ...spares.map((buffer) => ({ buffer, offset: 0, size: buffer.size }))],
      uniforms: new UniformWriter().u32(flag.offset, chunk.length).vecU32(chunk.map((c) => c.offset), 8).bytes(),
      workgroups: [1, 1, 1],
    });
  }
}
