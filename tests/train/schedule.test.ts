// Learning-rate schedules against float64 references written the way torch and OpenCLIP compute them:
// OpenCLIP's cosine_lr / const_lr / const_lr_cooldown verbatim, torch's CosineAnnealingWarmRestarts by its
// step() recursion (T_cur += 1, restart when T_cur ≥ T_i), and torch's chainable CosineAnnealingLR recursion.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const S = kiln.train.DEFAULTS.schedule;
const BASE = 5e-4;
const close = (got: number, ref: number): void => expect(Math.abs(got - ref)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(ref)));

// open_clip_train/scheduler.py
const warmupRef = (base: number, warmup: number, step: number): number => (base * (step + 1)) / warmup;
function cosineLrRef(base: number, warmup: number, steps: number, step: number): number {
  if (step < warmup) return warmupRef(base, warmup, step);
  const e = step - warmup;
  const es = steps - warmup;
  return 0.5 * (1 + Math.cos((Math.PI * e) / es)) * base;
}
function constCooldownRef(base: number, warmup: number, steps: number, cooldownSteps: number, power: number, end: number, step: number): number {
  const start = steps - cooldownSteps;
  if (step < warmup) return warmupRef(base, warmup, step);
  if (step < start) return base;
  const e = step - start;
  const es = steps - start;
  const decay = (1 - e / es) ** power;
  return decay * (base - end) + end;
}
// torch.optim.lr_scheduler.CosineAnnealingWarmRestarts, stepped once per epoch from epoch 0.
function warmRestartsRef(base: number, t0: number, mult: number, etaMin: number, epochs: number): number[] {
  const out: number[] = [];
  let tCur = 0;
  let tI = t0;
  for (let e = 0; e < epochs; e++) {
    if (e > 0) {
      tCur += 1;
      if (tCur >= tI) {
        tCur -= tI;
        tI *= mult;
      }
    }
    out.push(etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2);
  }
  return out;
}
// torch.optim.lr_scheduler.CosineAnnealingLR's recursive (chainable) form.
function cosineAnnealingRecursive(base: number, tMax: number, etaMin: number, n: number): number[] {
  const out = [base];
  for (let t = 1; t < n; t++) {
    const prev = out[t - 1]!;
    out.push(((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (prev - etaMin) + etaMin);
  }
  return out;
}

describe('schedules', () => {
  it('warmup-cosine is OpenCLIP cosine_lr (linear warmup (t+1)/warmup, cosine to 0)', () => {
    const lrAt = kiln.train.makeSchedule({ ...S, kind: 'warmup-cosine', warmup: 7 }, 100, 10);
    for (const t of [0, 1, 6, 7, 8, 31, 50, 99, 100]) close(lrAt(t, BASE), cosineLrRef(BASE, 7, 100, t));
  });

  it('warmup-cosine with a floor is torch CosineAnnealingLR(T_max, eta_min) after the warmup', () => {
    const lrAt = kiln.train.makeSchedule({ ...S, kind: 'warmup-cosine', floor: 1e-5 }, 40, 10);
    const ref = cosineAnnealingRecursive(BASE, 40, 1e-5, 40);
    for (const t of [0, 1, 13, 20, 39]) expect(Math.abs(lrAt(t, BASE) - ref[t]!)).toBeLessThan(1e-15);
  });

  it('constant (with warmup) and constant-cooldown are OpenCLIP const_lr and const_lr_cooldown', () => {
    const c = kiln.train.makeSchedule({ ...S, kind: 'constant', warmup: 3 }, 50, 10);
    expect([0, 1, 2, 3, 49].map((t) => c(t, BASE))).toEqual([0, 1, 2].map((t) => warmupRef(BASE, 3, t)).concat([BASE, BASE]));
    const cd = kiln.train.makeSchedule({ ...S, kind: 'constant-cooldown', warmup: 5, cooldown: 20, cooldownPower: 1.5, cooldownEnd: 1e-6 }, 100, 10);
    for (const t of [0, 4, 5, 79, 80, 81, 90, 99]) close(cd(t, BASE), constCooldownRef(BASE, 5, 100, 20, 1.5, 1e-6, t));
  });

  it('cosine-restarts is torch CosineAnnealingWarmRestarts(T_0, T_mult, eta_min), including T_mult 1', () => {
    for (const [t0, mult] of [
      [10, 2],
      [3, 3],
      [7, 1],
    ] as const) {
      const lrAt = kiln.train.makeSchedule({ ...S, kind: 'cosine-restarts', T_0: t0, T_mult: mult, eta_min: 2e-6 }, 500, 10);
      const ref = warmRestartsRef(BASE, t0, mult, 2e-6, 200);
      for (let t = 0; t < 200; t++) close(lrAt(t, BASE), ref[t]!);
    }
  });

  it("in 'epochs' units the schedule advances once per epoch and its lengths count epochs", () => {
    const spe = 7;
    const lrAt = kiln.train.makeSchedule({ ...S, kind: 'warmup-cosine', unit: 'epochs', warmup: 2 }, 10 * spe, spe);
    for (let e = 0; e < 10; e++) for (const k of [0, 3, 6]) close(lrAt(e * spe + k, BASE), cosineLrRef(BASE, 2, 10, e));
    const wr = kiln.train.makeSchedule({ ...S, kind: 'cosine-restarts', unit: 'epochs', T_0: 2, T_mult: 2 }, 20 * spe, spe);
    const ref = warmRestartsRef(BASE, 2, 2, 0, 20);
    for (let e = 0; e < 20; e++) close(wr(e * spe + 5, BASE), ref[e]!);
  });
});
