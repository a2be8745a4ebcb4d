// AdamW's state in a checkpoint: torch's state-dict layout split into tensors (optimizer.safetensors,
// `state.<index>.step|exp_avg|exp_avg_sq`) and JSON (param_groups, plus each index's parameter name so a
// checkpoint of another parameter set is refused by name rather than by position).

import { type Tensor, optim } from '../public.js';

export interface OptimizerJson {
  readonly param_groups: readonly (optim.AdamWParamGroupState & { readonly params: readonly number[] })[];
  /** The parameter name of each state index, in order. */
  readonly names: readonly string[];
}

/** Splits `opt.stateDict()` into tensors (shared, not copied) and JSON; the lr tensors are stored by value. */
export function exportOptimizer(opt: optim.AdamW, lrValues: readonly number[], names: readonly string[]): { tensors: Map<string, Tensor>; json: OptimizerJson } {
  const sd = opt.stateDict();
  const tensors = new Map<string, Tensor>();
  for (const [i, s] of sd.state) {
    tensors.set(`state.${i}.step`, s.step);
    tensors.set(`state.${i}.exp_avg`, s.exp_avg);
    tensors.set(`state.${i}.exp_avg_sq`, s.exp_avg_sq);
  }
  const param_groups = sd.param_groups.map((g, gi) => ({ ...g, lr: lrValues[gi]! }));
  return { tensors, json: { param_groups, names } };
}

/** Loads what exportOptimizer wrote into `opt` (checked by name first, then by optim's own checks). */
export function importOptimizer(opt: optim.AdamW, tensors: ReadonlyMap<string, Tensor>, json: OptimizerJson, names: readonly string[], where: string): void {
  if (json.names.length !== names.length || json.names.some((n, i) => n !== names[i])) {
    const missing = names.filter((n) => !json.names.includes(n));
    const extra = json.names.filter((n) => !names.includes(n));
    throw new Error(`${where}: its optimizer covers other parameters (not in the checkpoint: ${missing.join(', ') || 'none'}; only in the checkpoint: ${extra.join(', ') || 'none'})`);
  }
  const state = new Map<number, optim.AdamWTorchState>();
  for (const key of tensors.keys()) {
    const m = /^state\.(\d+)\.step$/.exec(key);
    if (!m) continue;
    const i = Number(m[1]);
    const get = (k: string): Tensor => {
      const t = tensors.get(`state.${i}.${k}`);
      if (!t) throw new Error(`${where}: optimizer.safetensors lacks state.${i}.${k}`);
      return t;
    };
    state.set(i, { step: get('step'), exp_avg: get('exp_avg'), exp_avg_sq: get('exp_avg_sq') });
  }
  opt.loadStateDict({ state, param_groups: json.param_groups });
  for (const t of tensors.values()) t.dispose(); // loadStateDict copied them
}
