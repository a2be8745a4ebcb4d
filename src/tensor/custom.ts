// The public door for user-defined ops: kiln.customOp registers WGSL kernels with a forward that launches
// them and a gradient rule (composed of ops, or launching another of its kernels). The op takes part in
// autograd, tidy/dispose and the pipeline cache like a built-in one, without editing Kiln's op union.

import { dispatch } from '../device/batch.js';
import type { BindingKind } from '../device/pipelines.js';
import type { DType } from '../kernels/dtype.js';
import { whole } from '../kernels/operand.js';
import { empty } from './alloc.js';
import { dense } from './ops/elementwise.js';
import { type SavedCtx, recordCustom } from './ops/record.js';
import { noGrad } from './scope.js';
import type { Tensor } from './tensor.js';

export interface CustomKernel {
  /** Complete WGSL. Storage bindings come first in @group(0) in `bindings` order, the uniform block last. */
  readonly code: string;
  readonly bindings: readonly BindingKind[];
  readonly entryPoint?: string;
  readonly overrides?: Readonly<Record<string, number>>;
}

export interface Launch {
  /** Tensors bound to the kernel's storage bindings, in order (bound whole, element 0 at index 0). */
  readonly tensors: readonly Tensor[];
  /** The uniform block's bytes (≤ 256), when the kernel declares a 'uniform' binding. */
  readonly uniforms?: ArrayBufferView;
  readonly workgroups: readonly [number, number, number];
}

export interface KernelContext {
  /** A new contiguous tensor (NaN-poisoned in tests) for a kernel to write. */
  empty(shape: readonly number[], dtype?: DType): Tensor;
  /** Records a dispatch of one of the op's kernels. */
  launch(kernel: string, launch: Launch): void;
}

export interface ForwardContext extends KernelContext {
  /** Keeps tensors for backward (version-checked: modifying them in place makes backward throw). */
  save(...tensors: Tensor[]): void;
}

export interface BackwardContext extends KernelContext {
  /** The tensors passed to save(), in order. */
  readonly saved: readonly Tensor[];
  /** Whether input i needs a gradient. */
  needsInputGrad(i: number): boolean;
}

export interface CustomOpSpec {
  readonly name: string;
  readonly kernels: Readonly<Record<string, CustomKernel>>;
  /** Receives the inputs made contiguous (offset 0); returns the output. Runs without recording. */
  forward(ctx: ForwardContext, ...inputs: Tensor[]): Tensor;
  /** The gradient of each input from the output's gradient (null where none flows). Omit for ops without one. */
  backward?(ctx: BackwardContext, grad: Tensor): readonly (Tensor | null)[];
}

/**
 * Defines an op from WGSL kernels and its gradient rule; returns the function that applies it.
 * @example
 * const biasGelu = kiln.customOp({ name: 'bias_gelu', kernels: { fwd: { code, bindings: ['write', 'read', 'read', 'uniform'] } },
 *   forward(ctx, x, b) { const y = ctx.empty(x.shape); ctx.launch('fwd', { tensors: [y, x, b], uniforms, workgroups }); ctx.save(x, b); return y; },
 *   backward(ctx, g) { const [x, b] = ctx.saved; const z = x.add(b); … return [dz, dz.sum(0)]; } });
 */
export function customOp(spec: CustomOpSpec): (...inputs: Tensor[]) => Tensor {
  if (!spec.name || /\s/.test(spec.name)) throw new Error(`customOp: name must be a non-empty word, got '${spec.name}'`);
  const launch = (kernel: string, l: Launch): void => {
    const k = spec.kernels[kernel];
    if (!k) throw new Error(`customOp '${spec.name}': no kernel '${kernel}' (kernels: ${Object.keys(spec.kernels).join(', ')})`);
    const storage = k.bindings.filter((b) => b !== 'uniform').length;
    if (l.tensors.length !== storage)
      throw new Error(`customOp '${spec.name}': kernel '${kernel}' declares ${storage} storage bindings, got ${l.tensors.length} tensors`);
    const order = k.bindings.filter((b) => b !== 'uniform');
    dispatch({
      kernel: { name: `custom:${spec.name}:${kernel}`, code: k.code, bindings: [...order, ...(k.bindings.includes('uniform') ? (['uniform'] as const) : [])], entryPoint: k.entryPoint ?? 'main', overrides: k.overrides ?? {} },
      buffers: l.tensors.map((t) => whole(t.operand(spec.name))),
      ...(l.uniforms ? { uniforms: l.uniforms } : {}),
      workgroups: l.workgroups,
    });
  };
  const kernelCtx: KernelContext = { empty: (shape, dtype = 'f32') => empty(shape, dtype, spec.name), launch };

  return (...inputs: Tensor[]): Tensor => {
    for (const t of inputs) t.check(spec.name);
    const contiguous = inputs.map((t) => dense(t, spec.name));
    const saved: Tensor[] = [];
    const out = noGrad(() => spec.forward({ ...kernelCtx, save: (...ts) => void saved.push(...ts) }, ...contiguous));
    if (inputs.some((t) => t.requiresGrad) && !spec.backward)
      throw new Error(`customOp '${spec.name}': an input requires grad, but the op has no backward`);
    if (spec.backward)
      recordCustom(spec.name, contiguous, out, saved, (g: Tensor, c: SavedCtx) =>
        spec.backward!({ ...kernelCtx, saved: saved.map((_, i) => c.saved(i)), needsInputGrad: (i) => c.needs(i) }, g),
      );
    for (let i = 0; i < inputs.length; i++) if (contiguous[i] !== inputs[i]) contiguous[i]!.dispose();
    return out;
  };
}
