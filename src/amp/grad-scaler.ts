// kiln.amp.GradScaler: dynamic loss scaling for f16 mixed precision (torch.amp.GradScaler) with no readback
// and no submit in a step: the scale and its growth tracker live in GPU scalars, one fused kernel per
// gradient unscales it and raises the optimizer's skip flag (nonFiniteCheckAndUnscale_), the fused AdamW
// reads that flag, and update() adjusts the scale with elementwise ops on the GPU.

import { nonFiniteCheckAndUnscale_ } from '../optim/non-finite.js';
import { Optimizer } from '../optim/optimizer.js';
import { full } from '../tensor/create.js';
import { maximum, where } from '../tensor/ops/elementwise.js';
import { noGrad, tidy, untrack } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export interface GradScalerOptions {
  /** The first scale (default 2^16). */
  readonly initScale: number;
  /** Multiplies the scale after `growthInterval` steps in a row without inf/NaN gradients (default 2). */
  readonly growthFactor: number;
  /** Multiplies the scale after a step with inf/NaN gradients, which is skipped (default 0.5). */
  readonly backoffFactor: number;
  /** Clean steps in a row before the scale grows (default 2000). */
  readonly growthInterval: number;
  /** false makes every method a pass-through (scale returns its input, step calls optimizer.step()). */
  readonly enabled: boolean;
}

/** GradScaler.stateDict(): torch's keys; scale and tracker are the scaler's GPU scalars (shared) once it has run. */
export interface GradScalerStateDict {
  scale: number | Tensor;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number | Tensor;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any optimizer: the scaler touches only its groups, grads and flag
type AnyOptimizer = Optimizer<{ lr: number | Tensor }, object, any, any>;
type Stage = 'unscaled' | 'stepped';

const NAME = 'GradScaler';

function positive(v: unknown, what: string, check: (x: number) => boolean, expect: string): number {
  if (typeof v !== 'number' || !check(v)) throw new Error(`${NAME}: ${what} ${expect}, got ${String(v)}`);
  return v;
}

export class GradScaler {
  private opts: GradScalerOptions;
  private scaleT: Tensor | null = null;
  private tracker: Tensor | null = null;
  private inv: Tensor | null = null;
  /** Optimizers unscaled or stepped since the last update(), with the flag each raised. */
  private readonly stages = new Map<AnyOptimizer, { stage: Stage; flag: Tensor; checked: number }>();
  /** Skip flags this scaler made for optimizers that had none. */
  private readonly ownFlags = new Set<Tensor>();

  constructor(opts: Partial<GradScalerOptions> = {}) {
    const o = { initScale: 2 ** 16, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000, enabled: true, ...opts };
    positive(o.initScale, 'initScale', (x) => x > 0 && Number.isFinite(x), 'must be a positive finite number');
    positive(o.growthFactor, 'growthFactor', (x) => x > 1 && Number.isFinite(x), 'must be a finite number > 1');
    positive(o.backoffFactor, 'backoffFactor', (x) => x > 0 && x < 1, 'must be in (0, 1)');
    positive(o.growthInterval, 'growthInterval', (x) => Number.isInteger(x) && x > 0, 'must be a positive integer');
    if (typeof o.enabled !== 'boolean') throw new Error(`${NAME}: enabled must be a boolean, got ${String(o.enabled)}`);
    this.opts = o;
  }

  isEnabled(): boolean {
    return this.opts.enabled;
  }
  getGrowthFactor(): number {
    return this.opts.growthFactor;
  }
  getBackoffFactor(): number {
    return this.opts.backoffFactor;
  }
  getGrowthInterval(): number {
    return this.opts.growthInterval;
  }

  /** The scale as a GPU scalar (created at the first use, as torch's is). */
  private get scaleTensor(): Tensor {
    return (this.scaleT ??= own(full([], this.opts.initScale)));
  }
  private get trackerTensor(): Tensor {
    return (this.tracker ??= own(full([], 0)));
  }

  /**
   * The loss (or losses) multiplied by the scale, on the GPU; backpropagate that. The result is f32 (the
   * scale is an f32 scalar), whatever the loss's dtype.
   * @example scaler.scale(loss).backward();
   */
  scale(outputs: Tensor): Tensor;
  scale(outputs: readonly Tensor[]): Tensor[];
  scale(outputs: Tensor | readonly Tensor[]): Tensor | Tensor[] {
    if (!this.opts.enabled) return outputs instanceof Tensor ? outputs : [...outputs];
    const one = (t: Tensor, i?: number): Tensor => {
      if (!(t instanceof Tensor)) throw new Error(`${NAME}.scale: outputs${i === undefined ? '' : `[${i}]`} is not a tensor`);
      if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`${NAME}.scale: outputs must be f32 or f16, got ${t.dtype}`);
      return t.mul(this.scaleTensor);
    };
    return outputs instanceof Tensor ? one(outputs) : outputs.map(one);
  }

  /**
   * Divides the gradients of `optimizer`'s parameters by the scale in place and raises its skip flag
   * (`optimizer.foundInf`, made here if it has none) when one holds inf or NaN — one fused kernel per
   * gradient, nothing read back. The flag is reset first: raise your own checks after this call. Call it
   * before clipping (kiln.nn.utils.clipGradNorm_) so that clipping sees true gradients; once per
   * optimizer between updates.
   * @example scaler.unscale_(opt); kiln.nn.utils.clipGradNorm_(params, 1.0); scaler.step(opt); scaler.update();
   */
  unscale_(optimizer: AnyOptimizer): void {
    if (!this.opts.enabled) return;
    const seen = this.stages.get(optimizer);
    if (seen?.stage === 'unscaled') throw new Error(`${NAME}.unscale_: unscale_() has already been called on this optimizer since the last update()`);
    if (seen?.stage === 'stepped') throw new Error(`${NAME}.unscale_: unscale_() is being called after step()`);
    checkOptimizer(optimizer);
    let flag = optimizer.foundInf;
    if (flag === null) {
      flag = own(full([], 0));
      this.ownFlags.add(flag);
      optimizer.foundInf = flag;
    }
    const grads = optimizer.paramGroups.flatMap((g) => g.params.flatMap((p) => (p.grad ? [p.grad] : [])));
    noGrad(() => {
      this.inv ??= own(full([], 0));
      tidy(() => this.inv!.copy_(this.scaleTensor.reciprocal()));
      flag.zero_();
      nonFiniteCheckAndUnscale_(grads, flag, this.inv);
    });
    this.stages.set(optimizer, { stage: 'unscaled', flag, checked: grads.length });
  }

  /**
   * Unscales (unless unscale_ was called) and steps `optimizer`; the step changes nothing, bitwise, when
   * the gradients held inf or NaN (the fused AdamW reads the flag on the GPU, with no readback). An
   * optimizer whose update cannot read the flag (AdamW with `fused: false`) is refused.
   */
  step(optimizer: AnyOptimizer): void {
    if (!this.opts.enabled) return optimizer.step();
    if (this.stages.get(optimizer)?.stage === 'stepped') throw new Error(`${NAME}.step: step() has already been called since the last update()`);
    if (!this.stages.has(optimizer)) this.unscale_(optimizer);
    const s = this.stages.get(optimizer)!;
    if (s.checked === 0) throw new Error(`${NAME}.step: no inf checks were recorded for this optimizer (no parameter has a gradient)`);
    optimizer.step();
    s.stage = 'stepped';
  }

  /**
   * Adjusts the scale on the GPU, torch's rule: ×backoffFactor (and the tracker reset) if any optimizer
   * unscaled since the last update found inf/NaN; else after `growthInterval` clean steps in a row
   * ×growthFactor when that stays finite. `newScale` sets the scale instead. Reads nothing back.
   */
  update(newScale?: number | Tensor): void {
    if (!this.opts.enabled) return;
    const flags = [...this.stages.values()].map((s) => s.flag);
    this.stages.clear();
    noGrad(() =>
      tidy(() => {
        if (newScale !== undefined) {
          if (newScale instanceof Tensor) {
            if (newScale.numel() !== 1 || newScale.dtype !== 'f32') throw new Error(`${NAME}.update: newScale must be a one-element f32 tensor or a number`);
            this.scaleTensor.copy_(newScale.reshape([]));
          } else this.scaleTensor.fill_(positive(newScale, 'update: newScale', (x) => x > 0 && Number.isFinite(x), 'must be a positive finite number'));
          return;
        }
        if (flags.length === 0) throw new Error(`${NAME}.update: no inf checks were recorded prior to update() (call unscale_ or step first)`);
        const found = flags.slice(1).reduce<Tensor>((a, f) => maximum(a, f), flags[0]!).reshape([]);
        const bad = found.ne(0); // NaN counts as raised, as in the optimizer
        const { growthFactor, backoffFactor, growthInterval } = this.opts;
        const s = this.scaleTensor;
        const successful = where(bad, 0, this.trackerTensor.add(1));
        const grown = s.mul(growthFactor);
        const finite = grown.sub(grown).eq(0); // x − x is 0 for finite x, NaN for ±inf
        const grow = successful.ge(growthInterval).cast('f32').mul(finite.cast('f32'));
        s.copy_(where(bad, s.mul(backoffFactor), where(grow, grown, s)));
        this.trackerTensor.copy_(where(grow, 0, successful));
      }),
    );
  }

  /** The current scale (a readback; torch's get_scale). 1 when disabled. */
  async getScale(): Promise<number> {
    if (!this.opts.enabled) return 1;
    return this.scaleT ? this.scaleT.item() : this.opts.initScale;
  }

  /** torch's state_dict(): {} when disabled; scale and tracker are the live GPU scalars once created. */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.opts.enabled) return {};
    const { growthFactor, backoffFactor, growthInterval } = this.opts;
    return { scale: this.scaleT ?? this.opts.initScale, growth_factor: growthFactor, backoff_factor: backoffFactor, growth_interval: growthInterval, _growth_tracker: this.tracker ?? 0 };
  }

  /** Loads a state dict (numbers or one-element tensors, copied); the factors and interval are taken too. */
  loadStateDict(sd: Partial<GradScalerStateDict>): void {
    if (!this.opts.enabled) return;
    if (Object.keys(sd).length === 0) throw new Error(`${NAME}.loadStateDict: the source state dict is empty, possibly because it was saved from a disabled instance of GradScaler`);
    const scalar = (v: unknown, key: string): number | Tensor => {
      if (v instanceof Tensor) {
        if (v.numel() !== 1) throw new Error(`${NAME}.loadStateDict: ${key} must be a one-element tensor, got shape [${v.shape.join(',')}]`);
        return v;
      }
      return positive(v, `loadStateDict: ${key}`, (x) => Number.isFinite(x) && x >= 0, 'must be a finite number ≥ 0');
    };
    const scale = scalar(sd.scale, 'scale');
    const tracker = scalar(sd._growth_tracker, '_growth_tracker');
    // A throwaway scaler validates the loaded factors before anything changes.
    const { growthFactor, backoffFactor, growthInterval } = new GradScaler({
      growthFactor: sd.growth_factor ?? this.opts.growthFactor,
      backoffFactor: sd.backoff_factor ?? this.opts.backoffFactor,
      growthInterval: sd.growth_interval ?? this.opts.growthInterval,
    }).opts;
    this.opts = { ...this.opts, growthFactor, backoffFactor, growthInterval };
    noGrad(() => {
      const put = (t: Tensor, v: number | Tensor): void => void (v instanceof Tensor ? t.copy_(v.reshape([]).to('f32')) : t.fill_(v));
      put(this.scaleTensor, scale);
      put(this.trackerTensor, tracker);
    });
  }

  /** Frees the scaler's GPU scalars (and the skip flags it made for optimizers, which it detaches). */
  dispose(): void {
    for (const t of [this.scaleT, this.tracker, this.inv]) t?.dispose();
    this.scaleT = this.tracker = this.inv = null;
    this.stages.clear();
    this.ownFlags.clear();
  }
}

/** Untracked: a scaler's tensors outlive the scope they are made in. */
function own(t: Tensor): Tensor {
  untrack(t);
  return t;
}

/** Refuses an optimizer that cannot honour the GPU skip flag, before any gradient is touched. */
function checkOptimizer(optimizer: AnyOptimizer): void {
  if (!(optimizer instanceof Optimizer)) throw new Error(`${NAME}: expected a kiln.optim optimizer`);
  optimizer.paramGroups.forEach((g) => {
    if ('fused' in g.options && g.options.fused === false)
      throw new Error(`${NAME}: a parameter group has fused: false, whose update cannot read the GPU skip flag a loss scaler raises; use fused: true (the default)`);
  });
}
