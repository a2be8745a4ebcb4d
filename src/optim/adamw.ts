// AdamW (decoupled weight decay) — torch.optim.AdamW's update, composed from elementwise ops. The fused
// single-dispatch kernel is checked against this composition.

import { zerosLike } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArg, keep } from './optimizer.js';

export interface AdamWOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

export interface AdamWState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

export class AdamW extends Optimizer<AdamWOptions, AdamWState> {
  constructor(params: ParamsArg<AdamWOptions>, opts: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, maximize: false, ...opts }, 'AdamW');
    for (const g of this.paramGroups) {
      const { lr, eps, betas } = g.options;
      if (!(lr >= 0)) throw new Error(`AdamW: invalid learning rate: ${lr}`);
      if (!(eps >= 0)) throw new Error(`AdamW: invalid epsilon value: ${eps}`);
      if (!(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1)) throw new Error(`AdamW: invalid beta parameters: ${betas.join(', ')}`);
    }
  }

  protected update(p: Tensor, grad: Tensor, h: AdamWOptions): void {
    let st = this.state.get(p);
    if (!st) {
      st = { step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) };
      this.state.set(p, st);
    }
    const [b1, b2] = h.betas;
    const g = h.maximize ? grad.neg() : grad;
    st.step += 1;
    // p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
    p.mul_(1 - h.lr * h.weightDecay);
    st.expAvg.mul_(b1).add_(g, { alpha: 1 - b1 });
    const g2 = g.mul(g);
    st.expAvgSq.mul_(b2).add_(g2, { alpha: 1 - b2 });
    const bc1 = 1 - b1 ** st.step;
    const bc2 = 1 - b2 ** st.step;
    const denom = st.expAvgSq.sqrt().div(Math.sqrt(bc2)).add(h.eps);
    const upd = st.expAvg.div(denom);
    p.sub_(upd, { alpha: h.lr / bc1 });
  }
}
