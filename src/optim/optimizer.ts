// Optimizer base: parameter groups with per-group hyper-parameters (PyTorch's param_groups), per-parameter
// state, zeroGrad, and a state dict for exact checkpoint/resume.

import { noGrad, tidy, untrack } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ParamGroup<H> {
  params: Tensor[];
  /** Hyper-parameters of this group (lr, weightDecay, …); mutable, as schedules set them per step. */
  options: H;
}

export type ParamsArg<H> = readonly Tensor[] | readonly ({ params: readonly Tensor[] } & Partial<H>)[];

/** Marks an optimizer-state tensor as outliving the step's scope. */
export function keep<T extends Tensor>(t: T): T {
  untrack(t);
  return t;
}

export abstract class Optimizer<H extends { lr: number | Tensor }, S extends object> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, S>();

  constructor(params: ParamsArg<H>, defaults: H, name: string) {
    const list = [...params];
    if (list.length === 0) throw new Error(`${name}: optimizer got an empty parameter list`);
    const groups = list[0] && 'params' in list[0] ? (list as readonly ({ params: readonly Tensor[] } & Partial<H>)[]) : [{ params: list as readonly Tensor[] }];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g) => {
      const { params: ps, ...overrides } = g;
      for (const p of ps) {
        if (seen.has(p)) throw new Error(`${name}: some parameters appear in more than one parameter group`);
        seen.add(p);
      }
      return { params: [...ps], options: { ...defaults, ...(overrides as Partial<H>) } };
    });
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups)
        for (const p of group.params) {
          const grad = p.grad;
          if (!grad) continue;
          // Temporaries of the update are freed; state tensors are kept with keep().
          tidy(() => this.update(p, grad, group.options));
        }
    });
  }

  protected abstract update(p: Tensor, grad: Tensor, h: H): void;

  /** Clears gradients (to null by default, PyTorch's set_to_none=True; else zero-filled in place). */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) {
          p.grad.dispose();
          p.grad = null;
        } else p.grad.zero_();
      }
  }

  /** Per-parameter state (moments, step counts), for checkpoints; tensors are shared, not copied. */
  stateOf(p: Tensor): S | undefined {
    return this.state.get(p);
  }

  /** Frees every state tensor. */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v && typeof v === 'object' && 'dispose' in v) (v as Tensor).dispose();
    this.state.clear();
  }
}
