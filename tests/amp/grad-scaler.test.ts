// kiln.amp.GradScaler: an injected overflow skips the step (parameters, moments and step counts bitwise
// untouched, the scale halved) with zero submits and readbacks in the whole step; growth after the
// interval; unscaled gradients (and clipping on them) bitwise those of the unscaled loss; state dicts; errors.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

const raw = async (t: kiln.Tensor): Promise<number[]> => Array.from(new Uint32Array((await t.data()).buffer.slice(0)));
const input = (shape: number[], seed: number): kiln.Tensor => kiln.tensor(Float32Array.from(randomArray(shape[0]! * shape[1]!, seed)), { shape });

function setup(seed: number): { fc: kiln.nn.Linear; opt: kiln.optim.AdamW; x: kiln.Tensor } {
  kiln.manualSeed(seed);
  const fc = new kiln.nn.Linear(6, 3);
  return { fc, opt: new kiln.optim.AdamW(fc.parameters(), { lr: 1e-2 }), x: input([5, 6], seed) };
}

const lossOf = (fc: kiln.nn.Linear, x: kiln.Tensor): kiln.Tensor => kiln.tidy(() => fc.call(x).square().mean());

const hasF16 = (): boolean => kiln.deviceInfo().features.includes('shader-f16');

/** One scaled step: forward (under autocast when the adapter has f16), backward of the scaled loss, unscale, clip, step, update, zeroGrad. */
function step(s: kiln.amp.GradScaler, fc: kiln.nn.Linear, opt: kiln.optim.AdamW, x: kiln.Tensor, inject = false): void {
  kiln.tidy(() => {
    s.scale(kiln.autocast('f16', () => lossOf(fc, x), { enabled: hasF16() })).backward();
    if (inject) fc.weight.grad!.narrow(0, 1, 1).fill_(Infinity); // an f16 overflow, as it reaches an f32 grad
    s.unscale_(opt);
    kiln.nn.utils.clipGradNorm_(fc.parameters(), 1.0);
    s.step(opt);
    s.update();
    opt.zeroGrad();
  });
}

async function snapshot(fc: kiln.nn.Linear, opt: kiln.optim.AdamW): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of fc.parameters()) {
    const st = opt.stateOf(p)!;
    out.push(await raw(p), await raw(st.expAvg), await raw(st.expAvgSq), await raw(st.step));
  }
  return out;
}

describe('kiln.amp.GradScaler', () => {
  it('skips an overflowing step bitwise, halves the scale, and submits and reads back nothing', async () => {
    const { fc, opt, x } = setup(TEST_SEED);
    const s = new kiln.amp.GradScaler();
    expect(await s.getScale()).toBe(2 ** 16);
    step(s, fc, opt, x); // a clean step first, so moments and step counts are not zero
    const before = await snapshot(fc, opt);
    await kiln.flush();
    kiln.resetStats();
    step(s, fc, opt, x, true);
    const work = kiln.stats();
    expect({ submits: work.submits, readbacks: work.readbacks, buffersCreated: work.buffersCreated }).toEqual({ submits: 0, readbacks: 0, buffersCreated: 0 });
    expect(work.dispatches).toBeGreaterThan(0);
    expect(await snapshot(fc, opt)).toEqual(before);
    expect(await s.getScale()).toBe(2 ** 15);
    expect(await opt.skippedSteps.item()).toBe(1);
    step(s, fc, opt, x); // the next clean step trains again, at the halved scale
    expect(await snapshot(fc, opt)).not.toEqual(before);
    expect(await s.getScale()).toBe(2 ** 15);
    fc.dispose();
    opt.dispose();
    s.dispose();
    x.dispose();
  });

  it('grows the scale after growthInterval clean steps in a row; an overflow resets the count', async () => {
    const { fc, opt, x } = setup(TEST_SEED + 1);
    const s = new kiln.amp.GradScaler({ initScale: 8, growthInterval: 3 });
    const scales: number[] = [];
    for (const inject of [false, false, true, false, false, false, false]) {
      step(s, fc, opt, x, inject);
      scales.push(await s.getScale());
    }
    expect(scales).toEqual([8, 8, 4, 4, 4, 8, 8]);
    expect((s.stateDict() as kiln.amp.GradScalerStateDict)._growth_tracker).toBeInstanceOf(kiln.Tensor);
    expect(await ((s.stateDict() as kiln.amp.GradScalerStateDict)._growth_tracker as kiln.Tensor).item()).toBe(1);
    fc.dispose();
    opt.dispose();
    s.dispose();
    x.dispose();
  });

  it('unscaled gradients, clipped, are bitwise those of the unscaled loss (a power-of-two scale is exact)', async () => {
    const { fc, opt, x } = setup(TEST_SEED + 2);
    lossOf(fc, x).backward();
    kiln.nn.utils.clipGradNorm_(fc.parameters(), 0.05);
    const want = await Promise.all(fc.parameters().map((p) => raw(p.grad!)));
    opt.zeroGrad();
    const s = new kiln.amp.GradScaler({ initScale: 2 ** 10 });
    kiln.tidy(() => s.scale(lossOf(fc, x)).backward());
    s.unscale_(opt);
    kiln.nn.utils.clipGradNorm_(fc.parameters(), 0.05);
    expect(await Promise.all(fc.parameters().map((p) => raw(p.grad!)))).toEqual(want);
    fc.dispose();
    opt.dispose();
    s.dispose();
    x.dispose();
  });

  it('round-trips its state dict (torch keys) and refuses misuse clearly', async () => {
    const { fc, opt, x } = setup(TEST_SEED + 3);
    const s = new kiln.amp.GradScaler({ initScale: 64, growthInterval: 5 });
    step(s, fc, opt, x, true);
    const t = new kiln.amp.GradScaler();
    t.loadStateDict(s.stateDict());
    expect(await t.getScale()).toBe(32);
    expect(t.getGrowthInterval()).toBe(5);
    t.loadStateDict({ scale: 128, growth_factor: 2, backoff_factor: 0.5, growth_interval: 7, _growth_tracker: 3 });
    expect([await t.getScale(), t.getGrowthInterval()]).toEqual([128, 7]);
    expect(() => t.loadStateDict({})).toThrow(/GradScaler.loadStateDict: the source state dict is empty/);
    expect(new kiln.amp.GradScaler({ enabled: false }).stateDict()).toEqual({});

    kiln.tidy(() => s.scale(lossOf(fc, x)).backward());
    s.unscale_(opt);
    expect(() => s.unscale_(opt)).toThrow(/unscale_\(\) has already been called on this optimizer since the last update\(\)/);
    s.step(opt);
    expect(() => s.step(opt)).toThrow(/step\(\) has already been called since the last update\(\)/);
    expect(() => s.unscale_(opt)).toThrow(/unscale_\(\) is being called after step\(\)/);
    s.update();
    expect(() => s.update()).toThrow(/no inf checks were recorded prior to update\(\)/);
    opt.zeroGrad();
    const composed = new kiln.optim.AdamW(fc.parameters(), { fused: false });
    kiln.tidy(() => s.scale(lossOf(fc, x)).backward());
    const g = await raw(fc.weight.grad!);
    expect(() => s.unscale_(composed)).toThrow(/GradScaler: a parameter group has fused: false, whose update cannot read the GPU skip flag/);
    expect(await raw(fc.weight.grad!)).toEqual(g); // refused before any gradient was touched
    expect(() => new kiln.amp.GradScaler({ backoffFactor: 2 })).toThrow(/GradScaler: backoffFactor must be in \(0, 1\), got 2/);
    const off = new kiln.amp.GradScaler({ enabled: false });
    expect(off.scale(x)).toBe(x);
    expect(await off.getScale()).toBe(1);
    for (const o of [fc, opt, composed, s, t]) o.dispose();
    x.dispose();
  });
});
