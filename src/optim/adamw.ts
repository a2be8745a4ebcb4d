// AdamW (decoupled weight decay) — torch.optim.AdamW's update. By default one fused dispatch per parameter
// (src/kernels/adamw.ts) whose learning rate and step come from a GPU buffer, so an lr given as a GPU
// scalar tensor (a schedule computed on the GPU) never forces a readback; `fused: false` runs the same
// update composed from elementwise ops, which the fused kernel is tested against.

import { copyBuffer, upload } from '../device/batch.js';
import { runAdamW } from '../kernels/adamw.js';
import { empty } from '../tensor/alloc.js';
import { dense } from '../tensor/ops/elementwise.js';
import { zerosLike } from '../tensor/create.js';
import { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArg, keep } from './optimizer.js';

export interface AdamWOptions {
  /** A number, or a one-element f32 GPU tensor read by the fused kernel without a readback. */
  lr: number | Tensor;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
  /** One fused dispatch per parameter (default); false composes the update from elementwise ops. */
  fused: boolean;
}

export interface AdamWState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  /** f32 [lr, step] read by the fused kernel. */
  hyper?: Tensor;
}

export class AdamW extends Optimizer<AdamWOptions, AdamWState> {
  constructor(params: ParamsArg<AdamWOptions>, opts: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, maximize: false, fused: true, ...opts }, 'AdamW');
    for (const g of this.paramGroups) {
      const { lr, eps, betas } = g.options;
      if (lr instanceof Tensor) {
        if (lr.numel() !== 1 || lr.dtype !== 'f32') throw new Error(`AdamW: a tensor learning rate must be a one-element f32 tensor, got shape [${lr.shape.join(',')}] ${lr.dtype}`);
      } else if (!(lr >= 0)) throw new Error(`AdamW: invalid learning rate: ${lr}`);
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
    st.step += 1;
    if (h.fused && p.dtype === 'f32' && p.isContiguous() && p.offset === 0) {
      this.fusedUpdate(p, grad, h, st);
      return;
    }
    if (h.lr instanceof Tensor) throw new Error('AdamW: a tensor learning rate needs the fused path (an f32, contiguous parameter)');
    const lr = h.lr;
    const [b1, b2] = h.betas;
    const g = h.maximize ? grad.neg() : grad;
    // p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
    p.mul_(1 - lr * h.weightDecay);
    st.expAvg.mul_(b1).add_(g, { alpha: 1 - b1 });
    const g2 = g.mul(g);
    st.expAvgSq.mul_(b2).add_(g2, { alpha: 1 - b2 });
    const bc1 = 1 - b1 ** st.step;
    const bc2 = 1 - b2 ** st.step;
    const denom = st.expAvgSq.sqrt().div(Math.sqrt(bc2)).add(h.eps);
    const upd = st.expAvg.div(denom);
    p.sub_(upd, { alpha: lr / bc1 });
  }

  private fusedUpdate(p: Tensor, grad: Tensor, h: AdamWOptions, st: AdamWState): void {
    const hyper = (st.hyper ??= keep(empty([2], 'f32', 'AdamW')));
    const buf = hyper.storage.buffer;
    if (h.lr instanceof Tensor) {
      const lr = h.lr.check('AdamW');
      copyBuffer(lr.storage.buffer, lr.offset * 4, buf, 0, 4);
      upload(buf, 4, Float32Array.of(st.step));
    } else upload(buf, 0, Float32Array.of(h.lr, st.step));
    const g = dense(grad, 'AdamW');
    runAdamW(p.numel(), p.operand('AdamW'), st.expAvg.operand('AdamW'), st.expAvgSq.operand('AdamW'), g.operand('AdamW'), hyper.operand('AdamW'), {
      beta1: h.betas[0],
      beta2: h.betas[1],
      eps: h.eps,
      weightDecay: h.weightDecay,
      maximize: h.maximize,
    });
    p.bumpVersion();
  }
}
