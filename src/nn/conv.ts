// Conv2d and Conv3d modules (torch.nn's names, parameter names, layouts and default init), for patch
// embedding stems. The computation is kiln.F.conv2d / conv3d; no dilation, groups or padding modes.

import { conv2d, conv3d } from '../tensor/ops/conv.js';
import { fmt } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { linearDefaults } from './init.js';
import { type LayerOptions, Module } from './module.js';

export interface ConvModuleOptions extends LayerOptions {
  readonly stride?: number | readonly number[];
  readonly padding?: number | readonly number[];
  /** Whether to learn an additive bias (default true). */
  readonly bias?: boolean;
}

function tuple(name: string, what: string, v: number | readonly number[], nd: number, min: number): number[] {
  const t = typeof v === 'number' ? new Array<number>(nd).fill(v) : [...v];
  if (t.length !== nd || t.some((s) => !Number.isInteger(s) || s < min))
    throw new Error(`${name}: ${what} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer or ${nd} of them, got ${typeof v === 'number' ? v : fmt(v)}`);
  return t;
}

/** Shared body of Conv2d and Conv3d: `weight` [O, C, k…] and `bias` [O], PyTorch's default init. */
abstract class ConvNd extends Module {
  readonly kernelSize: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  constructor(
    name: string,
    nd: number,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | readonly number[],
    opts: ConvModuleOptions,
  ) {
    super();
    if (!Number.isInteger(inChannels) || !Number.isInteger(outChannels) || inChannels <= 0 || outChannels <= 0)
      throw new Error(`${name}: in_channels and out_channels must be positive integers, got ${inChannels}, ${outChannels}`);
    this.kernelSize = tuple(name, 'kernel_size', kernelSize, nd, 1);
    this.stride = tuple(name, 'stride', opts.stride ?? 1, nd, 1);
    this.padding = tuple(name, 'padding', opts.padding ?? 0, nd, 0);
    const init = linearDefaults(inChannels * this.kernelSize.reduce((x, y) => x * y, 1)); // fan_in = C·∏k
    this.createParameter('weight', [outChannels, inChannels, ...this.kernelSize], init.weight, opts);
    if (opts.bias === false) this.registerParameter('bias', null);
    else this.createParameter('bias', [outChannels], init.bias, opts);
  }
  get weight(): Tensor {
    return this.tensor('weight');
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }
}

/** y = conv2d(x, weight, bias): x [B, C, H, W] → [B, O, H', W']. @example new kiln.nn.Conv2d(1, 768, 16, { stride: 10, bias: false }) */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], opts: ConvModuleOptions = {}) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, opts);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

/** y = conv3d(x, weight, bias): x [B, C, T, H, W] → [B, O, T', H', W']. @example new kiln.nn.Conv3d(3, 1280, [2, 14, 14], { stride: [2, 14, 14], bias: false }) */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], opts: ConvModuleOptions = {}) {
    super('Conv3d', 3, inChannels, outChannels, kernelSize, opts);
  }
  forward(x: Tensor): Tensor {
    return conv3d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}
