// How a model is built (allocated, or shape-only on the meta device) and the initialisers both model
// families share. The layers themselves are kiln.nn's; nothing here computes.

import { F, type Tensor, deviceInfo, nn } from '../public.js';

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

/**
 * The factory options every layer of `model` is built with. An f16 model on the GPU needs the adapter's
 * `shader-f16` (checked here, so the error names the model rather than its first layer); a meta model is
 * checked when its weights are cast on loading.
 */
export function factory(opts: BuildOptions, model = 'model'): nn.FactoryOptions {
  const device = opts.deferInit === true || opts.device === 'meta' ? 'meta' : 'gpu';
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new Error(`${model}: dtype must be 'f32' or 'f16', got ${JSON.stringify(dtype)}`);
  if (dtype === 'f16' && device === 'gpu' && !deviceInfo().features.includes('shader-f16'))
    throw new Error(`${model}: dtype 'f16' needs the adapter feature 'shader-f16', which this adapter (${deviceInfo().description || deviceInfo().vendor}) lacks; build the model in f32`);
  return { device, dtype };
}

/**
 * A float model input in the dtype of the weight it meets first (`like`): what Hugging Face's CLIP does
 * with `pixel_values.to(dtype=target_dtype)`, so f32 images feed an f16 model. Non-float inputs pass.
 */
export function asWeightDType(x: Tensor, like: Tensor): Tensor {
  return (x.dtype === 'f32' || x.dtype === 'f16') && x.dtype !== like.dtype ? x.to(like.dtype) : x;
}

/** Fills a [n, n] buffer with the additive causal mask (kiln.F.causalMask). */
export function causalMaskInit(n: number): nn.Initializer {
  return (t: Tensor): void => {
    const m = F.causalMask(n, n, { dtype: t.dtype });
    t.copy_(m);
    m.dispose();
  };
}
