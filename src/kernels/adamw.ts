// Launcher for the fused AdamW update of contiguous f32 parameters and their moments: two parameters of a
// group a dispatch (adamw_multi.wgsl), or one (adamw.wgsl) on a device that binds fewer than 12 storage
// buffers per stage. Each parameter's step is advanced before, by flag-count.ts.

import { dispatch, grid } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';
import { spareBuffers } from './spare-buffers.js';

const rule = wgslFile('adamw_rule', new URL('./wgsl/adamw_rule.wgsl', import.meta.url));
const single = wgslFile('adamw', new URL('./wgsl/adamw.wgsl', import.meta.url));
const multi = wgslFile('adamw_multi', new URL('./wgsl/adamw_multi.wgsl', import.meta.url));

/** Storage buffers adamw_multi.wgsl binds. */
const MULTI_BINDINGS = 12;

export interface AdamWHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maximize: boolean;
  /** A number (sent as a uniform) or one f32 element of a GPU buffer. */
  readonly lr: number | Operand;
}

/**
 * One parameter's update: param, expAvg, expAvgSq contiguous f32 of n elements from element 0; grad
 * contiguous f32/f16 from element 0; step the (already advanced) f32 step count.
 */
export interface AdamWSlot {
  readonly n: number;
  readonly param: Operand;
  readonly expAvg: Operand;
  readonly expAvgSq: Operand;
  readonly grad: Operand;
  readonly step: Operand;
}

/**
 * Updates every slot (one group's hyper-parameters; gradients of one dtype) unless the f32 `flag` element is
 * raised, which leaves everything untouched. `perDispatch` (2 by default where the device allows) is for
 * tests that compare the two kernels.
 */
export function runAdamW(slots: readonly AdamWSlot[], flag: Operand, h: AdamWHyper, perDispatch: 1 | 2 = multiAllowed() ? 2 : 1): void {
  const todo = slots.filter((s) => s.n > 0);
  const dtype = todo[0]?.grad.dtype;
  if (dtype === undefined) return;
  if (todo.some((s) => s.grad.dtype !== dtype)) throw new Error('runAdamW: the gradients of one call must share a dtype');
  const lrInBuffer = typeof h.lr !== 'number';
  // A number lr binds the flag buffer in the lr slot: the slot must hold a buffer, the kernel ignores it.
  const lr = typeof h.lr === 'number' ? flag : h.lr;
  const head = (): UniformWriter => new UniformWriter().f32(h.beta1, h.beta2, h.eps, h.weightDecay);
  const lrWords = [typeof h.lr === 'number' ? h.lr : 0, lrInBuffer ? 1 : 0, lr.offset] as const;
  const code = (src: typeof single): string => prelude({ G: wgslStorageType(dtype) }, dtype === 'f16') + rule.text() + src.text();
  for (let k = 0; k < todo.length; k += perDispatch) {
    const [a, b] = [todo[k]!, perDispatch === 2 ? todo[k + 1] : undefined];
    if (perDispatch === 1) {
      dispatch({
        kernel: { name: 'adamw', code: code(single), bindings: ['write', 'write', 'write', 'read', 'read', 'read', 'read', 'uniform'] },
        buffers: [whole(a.param), whole(a.expAvg), whole(a.expAvgSq), whole(a.grad), whole(a.step), whole(lr), whole(flag)],
        uniforms: head().u32(a.n, h.maximize ? 1 : 0).f32(lrWords[0]).u32(lrWords[1], lrWords[2], a.step.offset, flag.offset, 0).bytes(),
        workgroups: grid(Math.ceil(a.n / 256)),
      });
      continue;
    }
    const groups0 = Math.ceil(a.n / 256);
    const second = b ? [b.param, b.expAvg, b.expAvgSq, b.grad, b.step].map(whole) : spareBuffers(5).map((buffer) => ({ buffer, offset: 0, size: buffer.size }));
    dispatch({
      kernel: { name: 'adamw-multi', code: code(multi), bindings: ['read', 'read', ...slotKinds, ...slotKinds, 'uniform'] },
      buffers: [whole(flag), whole(lr), ...[a.param, a.expAvg, a.expAvgSq, a.grad, a.step].map(whole), ...second],
      uniforms: head()
        .u32(h.maximize ? 1 : 0)
        .f32(lrWords[0])
        .u32(lrWords[1], lrWords[2], flag.offset, groups0, a.n, b?.n ?? 0, a.step.offset, b?.step.offset ?? 0, 0, 0)
        .bytes(),
      workgroups: grid(groups0 + Math.ceil((b?.n ?? 0) / 256)),
    });
  }
}

const slotKinds = ['write', 'write', 'write', 'read', 'read'] as const;

function multiAllowed(): boolean {
  return (gpu().info.limits['maxStorageBuffersPerShaderStage'] ?? 8) >= MULTI_BINDINGS;
}
