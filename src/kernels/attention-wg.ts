// The flash-attention kernels whose tiles live in workgroup memory (for GPUs): forward and dq stream key
// and value tiles through it, dk/dv streams query and dO tiles. Their sources and which adapters can run
// them (attention_wg_common.wgsl, their tiles, goes before each); attention.ts launches them (the same
// bindings, uniforms and grid as the plain kernels) when the choice mechanism picks `shared`. They perform
// the plain kernels' operations in the same order.

import type { AdapterClass } from './adapter-class.js';
import { wgslFile } from './source.js';

export const attentionWgCommon = wgslFile('attention_wg_common', new URL('./wgsl/attention_wg_common.wgsl', import.meta.url));
export const attentionWgForward = wgslFile('attention_wg_forward', new URL('./wgsl/attention_wg_forward.wgsl', import.meta.url));
export const attentionWgDq = wgslFile('attention_wg_dq', new URL('./wgsl/attention_wg_dq.wgsl', import.meta.url));
export const attentionWgDkdv = wgslFile('attention_wg_dkdv', new URL('./wgsl/attention_wg_dkdv.wgsl', import.meta.url));

/** Workgroup storage the kernels declare: two tiles of `bk` rows × 32 vec4<f32> (head dims up to 128). */
export function attentionWgStorage(bk: number): number {
  return 2 * bk * 32 * 16;
}

/** Whether adapter class `cls` can run the workgroup-memory kernels with `wg` rows and `bk`-row tiles. */
export function attentionWgUsable(c: { readonly wg: number; readonly bk: number }, cls: AdapterClass): boolean {
  return c.wg <= cls.invocations && attentionWgStorage(c.bk) <= cls.workgroupStorage;
}
