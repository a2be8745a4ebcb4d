// SGD with momentum, dampening, Nesterov and (coupled) weight decay — torch.optim.SGD's update, composed
// from elementwise ops, with torch's state dict (`momentum_buffer`).

import { zerosLike } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArg, keep } from './optimizer.js';
import { checkBool, checkLike, checkNumber, ownCopy } from './state-dict.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export interface SGDState {
  momentumBuffer?: Tensor;
}

/** One parameter's entry of `SGD.stateDict().state`, torch's spelling. */
export interface SGDTorchState {
  momentum_buffer: Tensor;
}

/** One entry of `SGD.stateDict().param_groups` less `params`, torch's keys (foreach/fused: torch's defaults). */
export interface SGDParamGroupState {
  lr: number;
  momentum: number;
  dampening: number;
  weight_decay: number;
  nesterov: boolean;
  maximize: boolean;
  foreach: boolean | null;
  differentiable: boolean;
  fused: boolean | null;
}

function checkOptions(h: SGDOptions, where: string): SGDOptions {
  const { lr, momentum, dampening, weightDecay } = h;
  if (typeof lr !== 'number' || !(lr >= 0)) throw new Error(`${where}: invalid learning rate: ${String(lr)}`);
  if (!(momentum >= 0)) throw new Error(`${where}: invalid momentum value: ${momentum}`);
  if (!(dampening >= 0 && dampening <= 1)) throw new Error(`${where}: invalid dampening value: ${dampening}`);
  if (!(weightDecay >= 0)) throw new Error(`${where}: invalid weight_decay value: ${weightDecay}`);
  if (h.nesterov && (momentum <= 0 || dampening !== 0)) throw new Error(`${where}: Nesterov momentum requires a momentum and zero dampening`);
  return h;
}

export class SGD extends Optimizer<SGDOptions, SGDState, SGDTorchState, SGDParamGroupState> {
  constructor(params: ParamsArg<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts }, 'SGD');
    for (const g of this.paramGroups) checkOptions(g.options, 'SGD');
  }

  protected update(p: Tensor, grad: Tensor, h: SGDOptions): void {
    // d = g + wd·p; buf = μ·buf + (1 − τ)·d; d = nesterov ? d + μ·buf : buf; p −= lr·d
    let d = h.maximize ? grad.neg() : grad;
    if (h.weightDecay !== 0) d = d.add(p, { alpha: h.weightDecay });
    if (h.momentum !== 0) {
      const st = this.state.get(p) ?? {};
      if (!st.momentumBuffer) {
        st.momentumBuffer = keep(zerosLike(p).add_(d));
        this.state.set(p, st);
      } else st.momentumBuffer.mul_(h.momentum).add_(d, { alpha: 1 - h.dampening });
      d = h.nesterov ? d.add(st.momentumBuffer, { alpha: h.momentum }) : st.momentumBuffer;
    }
    p.sub_(d, { alpha: h.lr });
  }

  protected cannotSkip(): string {
    return "takes SGD's composed path (SGD has no fused kernel)";
  }

  protected exportState(s: SGDState): SGDTorchState {
    if (!s.momentumBuffer) throw new Error('SGD: a state entry without a momentum buffer');
    return { momentum_buffer: s.momentumBuffer };
  }

  protected checkState(p: Tensor, ts: SGDTorchState, where: string): void {
    checkLike(ts.momentum_buffer, p, `${where}.momentum_buffer`);
  }

  protected importState(p: Tensor, ts: SGDTorchState): SGDState {
    return { momentumBuffer: ownCopy(ts.momentum_buffer, p.dtype, p.shape) };
  }

  protected exportGroup(h: SGDOptions): SGDParamGroupState {
    return {
      lr: h.lr,
      momentum: h.momentum,
      dampening: h.dampening,
      weight_decay: h.weightDecay,
      nesterov: h.nesterov,
      maximize: h.maximize,
      foreach: null,
      differentiable: false,
      fused: null,
    };
  }

  protected importGroup(g: SGDParamGroupState, current: SGDOptions, where: string): SGDOptions {
    if (g.differentiable as unknown === true) throw new Error(`${where}.differentiable: Kiln's SGD has no differentiable mode`);
    return checkOptions(
      {
        lr: checkNumber(g.lr, `${where}.lr`),
        momentum: checkNumber(g.momentum, `${where}.momentum`),
        dampening: checkNumber(g.dampening, `${where}.dampening`),
        weightDecay: checkNumber(g.weight_decay, `${where}.weight_decay`),
        nesterov: checkBool(g.nesterov, `${where}.nesterov`, current.nesterov),
        maximize: checkBool(g.maximize, `${where}.maximize`, current.maximize),
      },
      where,
    );
  }
}
