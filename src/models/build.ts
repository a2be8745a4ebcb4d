// How a model is built (allocated, or shape-only on the meta device) and the initialisers both model
// families share. The layers themselves are kiln.nn's; nothing here computes.

import { F, type Tensor, nn } from '../public.js';

export type ParamDType = 'f32' | 'f16';

/** How a model is built: allocated and initialised (default), or shape-only on the meta device. */
export interface BuildOptions {
  /** 'meta' builds shape-only parameters (PyTorch's meta device): load weights with assign, or toEmpty() + resetParameters(). */
  readonly device?: 'gpu' | 'meta';
  /** Same as device: 'meta' (kept for existing callers). */
  readonly deferInit?: boolean;
  /** The dtype of parameters and float buffers (default f32). */
  readonly dtype?: ParamDType;
  /** Activation checkpointing per transformer block (as OpenCLIP's set_grad_checkpointing); see setGradCheckpointing. */
  readonly gradCheckpointing?: boolean;
}

/** Turns activation checkpointing on or off for every module of `model` that is an instance of `block`. */
export function checkpointBlocks(model: nn.Module, block: abstract new (...args: never[]) => nn.Module, enable: boolean): void {
  for (const m of model.modules()) if (m instanceof block) m.gradCheckpointing = enable;
}

/** The factory options every layer of a model is built with. */
export function factory(opts: BuildOptions): nn.FactoryOptions {
  return { device: opts.deferInit === true || opts.device === 'meta' ? 'meta' : 'gpu', dtype: opts.dtype ?? 'f32' };
}

/** Fills a [n, n] buffer with the additive causal mask (kiln.F.causalMask). */
export function causalMaskInit(n: number): nn.Initializer {
  return (t: Tensor): void => {
    const m = F.causalMask(n, n, { dtype: t.dtype });
    t.copy_(m);
    m.dispose();
  };
}
