// The trainer's precision: 'f32', or 'f16-mixed' — forward (and backward) of a step inside one
// kiln.autocast('f16') region, so each weight is cast once per step and grad mode, the loss scaled by a
// kiln.amp.GradScaler, unscaled once per optimizer step (after every micro-batch) before the monitor
// measures and clips, and the scale updated on the GPU. Without 'shader-f16' it refuses, or runs in f32
// when the config asks for that fallback.

import { type Tensor, amp, autocast, deviceInfo, type optim } from '../public.js';
import { ConfigError, type TrainConfig } from './config.js';

export class StepPrecision {
  /** The loss scaler of an f16-mixed run, else null. */
  readonly scaler: amp.GradScaler | null;

  constructor(readonly mode: 'f32' | 'f16-mixed') {
    this.scaler = mode === 'f16-mixed' ? new amp.GradScaler() : null;
  }

  /** Runs a step's forward and backward (all micro-batches) under autocast when mixed. */
  run<R>(fn: () => R): R {
    return this.scaler ? autocast('f16', fn) : fn();
  }

  /** What backward starts from: the loss times the scale when mixed. */
  scale(loss: Tensor): Tensor {
    return this.scaler ? this.scaler.scale(loss) : loss;
  }

  /** True gradients before the monitor measures and clips them; raises the skip flag on inf/NaN. */
  unscale(optimizer: optim.AdamW): void {
    if (hasGrads(optimizer)) this.scaler?.unscale_(optimizer);
  }

  /** The optimizer step, then the scale's update (on the GPU); a step where nothing trains leaves the scale. */
  step(optimizer: optim.AdamW): void {
    if (!this.scaler || !hasGrads(optimizer)) return optimizer.step();
    this.scaler.step(optimizer);
    this.scaler.update();
  }

  /** The scaler's GPU state for the checkpoint's trainer.safetensors (none in f32). */
  tensors(): [string, Tensor][] {
    const sd = this.scaler?.stateDict() as amp.GradScalerStateDict | undefined;
    if (!sd) return [];
    const own = (v: number | Tensor): Tensor | null => (typeof v === 'number' ? null : v);
    const scale = own(sd.scale);
    const tracker = own(sd._growth_tracker);
    return scale && tracker ? [['scaler.scale', scale], ['scaler.growth_tracker', tracker]] : [];
  }

  /** Puts a checkpoint's scaler state back; a checkpoint without one (an f32 run's) starts a fresh scale. */
  restore(trainer: ReadonlyMap<string, Tensor>): void {
    const scale = trainer.get('scaler.scale');
    const tracker = trainer.get('scaler.growth_tracker');
    if (this.scaler && scale && tracker) this.scaler.loadStateDict({ scale, _growth_tracker: tracker });
  }

  dispose(): void {
    this.scaler?.dispose();
  }
}

/** The precision a run gets on this adapter (after init): 'f16-mixed' needs 'shader-f16'. */
export function stepPrecision(cfg: Pick<TrainConfig, 'precision' | 'precisionFallback'>): StepPrecision {
  if (cfg.precision === 'f16-mixed' && !deviceInfo().features.includes('shader-f16')) {
    if (cfg.precisionFallback === 'f32') return new StepPrecision('f32');
    throw new ConfigError(
      `precision: 'f16-mixed' needs the adapter feature 'shader-f16', which this adapter (${deviceInfo().description || 'unknown'}) lacks; ` +
        "use precision: 'f32', or set precisionFallback: 'f32' to fall back to it",
    );
  }
  return new StepPrecision(cfg.precision);
}

const hasGrads = (o: optim.AdamW): boolean => o.paramGroups.some((g) => g.params.some((p) => p.grad !== null));
