// AdamW (decoupled weight decay) — torch.optim.AdamW's update. By default fused and multi-tensor: a group's
// parameters go two a dispatch (src/kernels/adamw.ts), their steps seven a dispatch, and the kernel reads
// the step count, a tensor learning rate and the skip flag from GPU buffers, so neither a schedule computed
// on the GPU nor a skipped step forces a readback; `fused: false` runs the same update composed from
// elementwise ops (torch's capturable rule, bias corrections computed on the GPU from the step tensor),
// which the fused kernel is tested against.

import { runAdamW } from '../kernels/adamw.js';
import { runFlagCount } from '../kernels/flag-count.js';
import { full, zeros, zerosLike } from '../tensor/create.js';
import { dense, div, pow, sub } from '../tensor/ops/elementwise.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArg, checkScalarTensor, keep } from './optimizer.js';
import { checkBool, checkLike, checkNumber, ownCopy } from './state-dict.js';

export interface AdamWOptions {
  /** A number, or a one-element f32 GPU tensor (a schedule writes into it) read without a readback. */
  lr: number | Tensor;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
  /** The fused multi-tensor kernel (default); false composes the update from elementwise ops. */
  fused: boolean;
}

export interface AdamWState {
  /** torch's per-parameter step: a 0-d f32 GPU tensor, advanced on the GPU (never read back). */
  step: Tensor;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** One parameter's entry of `AdamW.stateDict().state`, torch's spelling. */
export interface AdamWTorchState {
  step: Tensor;
  exp_avg: Tensor;
  exp_avg_sq: Tensor;
}

/**
 * One entry of `AdamW.stateDict().param_groups` less `params`, torch's keys. `lr` is the group's own value:
 * a number, or the very lr tensor (shared, as torch's). Kiln keeps step counts on the GPU whatever the
 * flags say, and has no amsgrad or differentiable mode; `foreach` and `capturable` are written as torch's
 * defaults so torch can load the dict, and ignored on load.
 */
export interface AdamWParamGroupState {
  lr: number | Tensor;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
  maximize: boolean;
  foreach: boolean | null;
  capturable: boolean;
  differentiable: boolean;
  fused: boolean | null;
}

function checkOptions(h: AdamWOptions, where: string): AdamWOptions {
  const { lr, eps, betas } = h;
  if (lr instanceof Tensor) checkScalarTensor(`${where}: lr`, lr);
  else if (!(lr >= 0)) throw new Error(`${where}: invalid learning rate: ${lr}`);
  if (!(eps >= 0)) throw new Error(`${where}: invalid epsilon value: ${eps}`);
  if (!(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1)) throw new Error(`${where}: invalid beta parameters: ${betas.join(', ')}`);
  if (!(h.weightDecay >= 0)) throw new Error(`${where}: invalid weight_decay value: ${h.weightDecay}`);
  return h;
}

export class AdamW extends Optimizer<AdamWOptions, AdamWState, AdamWTorchState, AdamWParamGroupState> {
  constructor(params: ParamsArg<AdamWOptions>, opts: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, maximize: false, fused: true, ...opts }, 'AdamW');
    for (const g of this.paramGroups) checkOptions(g.options, 'AdamW');
  }

  /**
   * The fused parameters of a group in a few dispatches: their steps advance (unless the flag is raised),
   * 7 counters a dispatch, then the update reads them, two parameters a dispatch. One kernel that both read
   * and incremented a counter would race: an invocation could read the step before or after another's
   * increment. The others take the composed path one by one.
   */
  protected override updateGroup(params: readonly Tensor[], h: AdamWOptions, flag: Tensor): void {
    const fused = params.filter((p) => fusable(p, h));
    for (const p of params) if (!fusable(p, h)) tidy(() => this.update(p, p.grad!, h));
    if (fused.length === 0) return;
    const states = fused.map((p) => this.stateFor(p));
    tidy(() => {
      runFlagCount(states.map((st) => st.step.operand('AdamW')), flag.operand('AdamW'), false);
      const slots = fused.map((p, k) => {
        const st = states[k]!;
        const g = dense(p.grad!, 'AdamW').operand('AdamW');
        return { n: p.numel(), param: p.operand('AdamW'), expAvg: st.expAvg.operand('AdamW'), expAvgSq: st.expAvgSq.operand('AdamW'), grad: g, step: st.step.operand('AdamW') };
      });
      const hyper = { beta1: h.betas[0], beta2: h.betas[1], eps: h.eps, weightDecay: h.weightDecay, maximize: h.maximize, lr: h.lr instanceof Tensor ? h.lr.operand('AdamW') : h.lr };
      // One kernel per gradient dtype (the kernel's gradient type is compiled in).
      for (const dtype of new Set(slots.map((s) => s.grad.dtype)))
        runAdamW(slots.filter((s) => s.grad.dtype === dtype), flag.operand('AdamW'), hyper);
    });
    fused.forEach((p, k) => {
      const st = states[k]!;
      for (const t of [p, st.step, st.expAvg, st.expAvgSq]) t.bumpVersion();
    });
  }

  /** One parameter's update on the composed path (the fused ones go through updateGroup). */
  protected update(p: Tensor, grad: Tensor, h: AdamWOptions): void {
    const st = this.stateFor(p);
    // Composed path: foundInf is null here, as step() refuses a set flag for a parameter on this path.
    const [b1, b2] = h.betas;
    const g = h.maximize ? grad.neg() : grad;
    const lr = h.lr instanceof Tensor ? h.lr.reshape([]) : h.lr;
    st.step.add_(1);
    // p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
    p.mul_(lr instanceof Tensor ? lr.mul(-h.weightDecay).add(1) : 1 - lr * h.weightDecay);
    st.expAvg.mul_(b1).add_(g, { alpha: 1 - b1 });
    st.expAvgSq.mul_(b2).add_(g.mul(g), { alpha: 1 - b2 });
    const bc1 = sub(1, pow(b1, st.step));
    const bc2 = sub(1, pow(b2, st.step));
    const denom = st.expAvgSq.sqrt().div(bc2.sqrt()).add(h.eps);
    p.sub_(st.expAvg.div(denom).mul(div(lr, bc1)));
  }

  private stateFor(p: Tensor): AdamWState {
    let st = this.state.get(p);
    if (!st) {
      st = { step: keep(zeros([])), expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) };
      this.state.set(p, st);
    }
    return st;
  }

  protected cannotSkip(p: Tensor, h: AdamWOptions): string | null {
    if (fusable(p, h)) return null;
    return h.fused ? `(${p.dtype}, ${p.isContiguous() ? 'offset' : 'strided'}) takes the composed path` : 'is in a group with fused: false (the composed path)';
  }

  protected exportState(s: AdamWState): AdamWTorchState {
    return { step: s.step, exp_avg: s.expAvg, exp_avg_sq: s.expAvgSq };
  }

  protected checkState(p: Tensor, ts: AdamWTorchState, where: string): void {
    const step = ts.step as unknown;
    if (typeof step === 'number') {
      if (!(Number.isInteger(step) && step >= 0)) throw new Error(`${where}.step: expected a count ≥ 0, got ${step}`);
    } else if (!(step instanceof Tensor) || step.numel() !== 1) throw new Error(`${where}.step: expected a one-element tensor or a number`);
    for (const key of ['exp_avg', 'exp_avg_sq'] as const) checkLike(ts[key], p, `${where}.${key}`);
  }

  protected importState(p: Tensor, ts: AdamWTorchState): AdamWState {
    const step = ts.step as Tensor | number;
    return {
      step: typeof step === 'number' ? keep(full([], step)) : ownCopy(step, 'f32', []),
      expAvg: ownCopy(ts.exp_avg, p.dtype, p.shape),
      expAvgSq: ownCopy(ts.exp_avg_sq, p.dtype, p.shape),
    };
  }

  protected exportGroup(h: AdamWOptions): AdamWParamGroupState {
    return {
      lr: h.lr,
      betas: [h.betas[0], h.betas[1]],
      eps: h.eps,
      weight_decay: h.weightDecay,
      amsgrad: false,
      maximize: h.maximize,
      foreach: null,
      capturable: false,
      differentiable: false,
      fused: h.fused,
    };
  }

  protected importGroup(g: AdamWParamGroupState, current: AdamWOptions, where: string): AdamWOptions {
    if (g.amsgrad as unknown === true) throw new Error(`${where}.amsgrad: Kiln's AdamW has no amsgrad variant`);
    if (g.differentiable as unknown === true) throw new Error(`${where}.differentiable: Kiln's AdamW has no differentiable mode`);
    const betas = g.betas as unknown;
    if (!(Array.isArray(betas) && betas.length === 2 && betas.every((b) => typeof b === 'number')))
      throw new Error(`${where}.betas: expected two numbers, got ${JSON.stringify(betas)}`);
    const lr = g.lr as unknown;
    return checkOptions(
      {
        lr: lr instanceof Tensor ? lr : checkNumber(lr, `${where}.lr`),
        betas: [betas[0] as number, betas[1] as number],
        eps: checkNumber(g.eps, `${where}.eps`),
        weightDecay: checkNumber(g.weight_decay, `${where}.weight_decay`),
        maximize: checkBool(g.maximize, `${where}.maximize`, current.maximize),
        fused: checkBool(g.fused, `${where}.fused`, current.fused),
      },
      where,
    );
  }
}

/** Whether the fused kernel can update `p` in place: f32, contiguous from element 0 of its buffer. */
function fusable(p: Tensor, h: AdamWOptions): boolean {
  return h.fused && p.dtype === 'f32' && p.isContiguous() && p.offset === 0;
}
