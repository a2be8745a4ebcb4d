// Learning-rate schedules as pure functions of the step: lrAt(step, baseLr). OpenCLIP's warmup-cosine,
// constant and constant-with-cooldown, and torch's CosineAnnealingWarmRestarts, in steps or in epochs.
// The loop writes the value into each group's GPU lr tensor; nothing here touches the GPU.

import type { ScheduleSection } from './config.js';

export type LrAt = (step: number, baseLr: number) => number;

/** OpenCLIP's warmup: base·(t+1)/warmup for t < warmup. */
const warmupLr = (base: number, warmup: number, t: number): number => (base * (t + 1)) / warmup;

/**
 * The schedule as a function of the optimizer step. `totalSteps` is the run's length; with unit 'epochs'
 * the schedule advances once per epoch (as a torch scheduler stepped per epoch) and its lengths count epochs.
 */
export function makeSchedule(s: ScheduleSection, totalSteps: number, stepsPerEpoch: number): LrAt {
  const epochs = s.unit === 'epochs';
  const time = (step: number): number => (epochs ? Math.floor(step / stepsPerEpoch) : step);
  const total = epochs ? Math.ceil(totalSteps / stepsPerEpoch) : totalSteps;
  const inWarmup = (t: number): boolean => t < s.warmup;
  switch (s.kind) {
    case 'constant':
      return (step, base) => {
        const t = time(step);
        return inWarmup(t) ? warmupLr(base, s.warmup, t) : base;
      };
    case 'warmup-cosine':
      // floor + ½(1 + cos(π·e/es))·(base − floor), e = t − warmup, es = total − warmup (OpenCLIP's cosine_lr with a floor)
      return (step, base) => {
        const t = time(step);
        if (inWarmup(t)) return warmupLr(base, s.warmup, t);
        const es = total - s.warmup;
        const e = t - s.warmup;
        return es <= 0 ? base : s.floor + 0.5 * (1 + Math.cos((Math.PI * e) / es)) * (base - s.floor);
      };
    case 'constant-cooldown':
      // OpenCLIP's const_lr_cooldown: base until the last `cooldown` units, then (1 − e/es)^power to cooldownEnd
      return (step, base) => {
        const t = time(step);
        if (inWarmup(t)) return warmupLr(base, s.warmup, t);
        const start = total - s.cooldown;
        if (t < start) return base;
        const decay = (1 - (t - start) / (total - start)) ** s.cooldownPower;
        return decay * (base - s.cooldownEnd) + s.cooldownEnd;
      };
    case 'cosine-restarts':
      // torch's CosineAnnealingWarmRestarts at an explicit epoch: η_min + (base − η_min)(1 + cos(π·T_cur/T_i))/2
      return (step, base) => {
        const t = time(step);
        if (inWarmup(t)) return warmupLr(base, s.warmup, t);
        const { cur, period } = restartPosition(t - s.warmup, s.T_0, s.T_mult);
        return s.eta_min + ((base - s.eta_min) * (1 + Math.cos((Math.PI * cur) / period))) / 2;
      };
    default:
      return s.kind satisfies never;
  }
}

/** T_cur and T_i of CosineAnnealingWarmRestarts at time t (torch's closed form for an explicit epoch). */
function restartPosition(t: number, t0: number, mult: number): { cur: number; period: number } {
  if (mult === 1) return { cur: t % t0, period: t0 };
  const n = Math.floor(Math.log((t / t0) * (mult - 1) + 1) / Math.log(mult));
  // Guard the log's rounding at exact restart boundaries: pick the n whose cycle contains t.
  let k = n;
  const start = (j: number): number => (t0 * (mult ** j - 1)) / (mult - 1);
  while (k > 0 && start(k) > t) k--;
  while (start(k + 1) <= t) k++;
  return { cur: t - start(k), period: t0 * mult ** k };
}
