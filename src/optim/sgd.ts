// SGD with momentum, dampening, Nesterov and (coupled) weight decay — torch.optim.SGD's update.

import { zerosLike } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArg, keep } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions, { momentumBuffer?: Tensor }> {
  constructor(params: ParamsArg<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts }, 'SGD');
    for (const g of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay } = g.options;
      if (typeof lr !== 'number' || !(lr >= 0)) throw new Error(`SGD: invalid learning rate: ${String(lr)}`);
      if (!(momentum >= 0)) throw new Error(`SGD: invalid momentum value: ${momentum}`);
      if (!(dampening >= 0 && dampening <= 1)) throw new Error(`SGD: invalid dampening value: ${dampening}`);
      if (!(weightDecay >= 0)) throw new Error(`SGD: invalid weight_decay value: ${weightDecay}`);
    }
    for (const g of this.paramGroups)
      if (g.options.nesterov && (g.options.momentum <= 0 || g.options.dampening !== 0))
        throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
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
}
