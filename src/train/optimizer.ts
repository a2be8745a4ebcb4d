// The trainer's AdamW: kiln.optim.AdamW plus export/import of its per-parameter state by parameter name
// (moments as tensors, step counts as numbers), which checkpoints save and exact resume restores.

import { type Tensor, optim } from '../index.js';

export interface OptimizerState {
  /** `<param>.exp_avg` and `<param>.exp_avg_sq` (torch's names), shared with the optimizer, not copied. */
  readonly tensors: Map<string, Tensor>;
  /** AdamW's step count per parameter name (parameters never stepped are absent). */
  readonly steps: Record<string, number>;
}

export class TrainAdamW extends optim.AdamW {
  /** The state of every parameter in `names` that has been stepped. */
  exportState(names: ReadonlyMap<Tensor, string>): OptimizerState {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    for (const [p, name] of names) {
      const st = this.state.get(p);
      if (!st) continue;
      steps[name] = st.step;
      tensors.set(`${name}.exp_avg`, st.expAvg);
      tensors.set(`${name}.exp_avg_sq`, st.expAvgSq);
    }
    return { tensors, steps };
  }

  /** Replaces the state with `saved` (taking ownership of its tensors); every saved name must be a parameter here. */
  importState(params: ReadonlyMap<string, Tensor>, saved: OptimizerState): void {
    this.dispose();
    for (const [name, step] of Object.entries(saved.steps)) {
      const p = params.get(name);
      const m = saved.tensors.get(`${name}.exp_avg`);
      const v = saved.tensors.get(`${name}.exp_avg_sq`);
      if (!p) throw new Error(`optimizer state: '${name}' is not a trainable parameter of this run`);
      const same = (t: Tensor | undefined): t is Tensor => t !== undefined && t.dtype === p.dtype && t.shape.length === p.ndim && t.shape.every((s, i) => s === p.shape[i]);
      if (!same(m) || !same(v) || !Number.isSafeInteger(step) || step < 1)
        throw new Error(`optimizer state: the moments or step of '${name}' are missing or do not match the parameter [${p.shape.join(',')}]`);
      this.state.set(p, { step, expAvg: m, expAvgSq: v });
    }
  }
}
