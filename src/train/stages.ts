// Which parameters train at a given step: the model's own choice (a fixed scale stays fixed), the run's
// tower locks, and the stage in force (its frozen towers and per-group learning rates). A pure function
// of the step, re-applied every step, so a resumed run is in the right stage with nothing saved.

import type { Tensor } from '../public.js';
import { ConfigError, type StageSpec, type TrainConfig } from './config.js';
import { lockedNames, towerName } from './freeze.js';
import type { TrainModel } from './model.js';
import type { TrainGroup } from './params.js';

export class StagePlan {
  /** Tensors the model makes trainable at all (requiresGrad when built). */
  private readonly learnable: ReadonlySet<Tensor>;
  private readonly locked: ReadonlySet<string>;
  private readonly byTower = new Map<string, (readonly [string, Tensor])[]>();
  private applied: StageSpec | null | undefined = undefined;

  constructor(
    private readonly cfg: TrainConfig,
    model: TrainModel,
    named: readonly (readonly [string, Tensor])[],
  ) {
    this.learnable = new Set(named.filter(([, t]) => t.requiresGrad).map(([, t]) => t));
    this.locked = lockedNames(cfg.model.kind, model, named, cfg.lock);
    for (const entry of named) {
      const tower = towerName(model, entry[0]);
      this.byTower.set(tower, [...(this.byTower.get(tower) ?? []), entry]);
    }
    cfg.stages.forEach((s, i) =>
      s.frozen.forEach((t, j) => {
        if (!this.byTower.has(t)) throw new ConfigError(`stages[${i}].frozen[${j}]: no tower '${t}' (towers: ${[...this.byTower.keys()].join(', ')})`);
      }),
    );
  }

  /** The stage in force at `step` (the last one started), or null before the first. */
  stageAt(step: number): StageSpec | null {
    return this.cfg.stages.findLast((s) => s.step <= step) ?? null;
  }

  /** Sets requiresGrad of every parameter for `step` (only when the stage changes). */
  apply(step: number): void {
    const stage = this.stageAt(step);
    if (stage === this.applied) return;
    this.applied = stage;
    const frozen = new Set(stage?.frozen ?? []);
    for (const [tower, entries] of this.byTower)
      for (const [name, t] of entries) t.requiresGrad_(this.learnable.has(t) && !this.locked.has(name) && !frozen.has(tower));
  }

  /** A group's base learning rate at `step`: the stage's for the group ('x.no_decay' follows 'x'), else the config's. */
  baseLr(group: TrainGroup, step: number): number {
    return this.stageAt(step)?.lr[group.name.replace(/\.no_decay$/, '')] ?? group.lr;
  }

  /** True when no parameter of the tower trains now (apply first): its embeddings need no second pass. */
  frozen(tower: string): boolean {
    return !(this.byTower.get(tower) ?? []).some(([, t]) => t.requiresGrad);
  }
}
