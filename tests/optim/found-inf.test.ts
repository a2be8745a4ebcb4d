// The GPU skip flag: nonFiniteCheckAndUnscale_ against a float64 reference, a flagged AdamW step that leaves
// parameters, moments and steps bitwise untouched (and counts itself), all without a submit (so without a
// readback), and the errors for optimizers that cannot read the flag.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

async function bits(t: kiln.Tensor): Promise<Uint32Array> {
  const d = await t.data();
  return new Uint32Array(d.buffer, d.byteOffset, d.length);
}

describe('nonFiniteCheckAndUnscale_', () => {
  const seed = TEST_SEED;

  it(`unscales by a tensor scale and raises the flag only for NaN/±inf (seed ${seed})`, async () => {
    const a = randomArray(3000, seed);
    const b = randomArray(12, seed + 1);
    const ga = kiln.tensor(Float32Array.from(a));
    const gb = kiln.tensor(Float32Array.from(b), { shape: [3, 4] }).t(); // strided: unscaled through a copy
    const flag = kiln.zeros([]);
    const inv = kiln.tensor([0.3]);
    kiln.optim.nonFiniteCheckAndUnscale_([ga, gb], flag, inv);
    const s = Math.fround(0.3);
    expect(await ga.data()).toBeAllClose(Array.from(a, (x) => Math.fround(x) * s), { rtol: 1e-7 });
    const bt = Array.from({ length: 12 }, (_, k) => Math.fround(b[(k % 3) * 4 + Math.floor(k / 3)]!) * s);
    expect(await gb.data()).toBeAllClose(bt, { rtol: 1e-7 });
    expect(await flag.item()).toBe(0);

    for (const bad of [NaN, Infinity, -Infinity]) {
      const g = kiln.tensor(Float32Array.from(a).fill(bad, 2999));
      const f = kiln.zeros([]);
      kiln.optim.nonFiniteCheckAndUnscale_([ga, g], f); // invScale 1: the plain check
      expect(await f.item(), String(bad)).toBe(1);
      g.dispose();
      f.dispose();
    }
    for (const t of [ga, gb, flag, inv]) t.dispose();
  });

  it('the plain check never writes the tensors (a NaN payload survives)', async () => {
    const raw = new Uint32Array([0x7fc01234, 0x3f800000, 0xff800000, 0]);
    const t = kiln.tensor(new Float32Array(raw.buffer));
    const f = kiln.zeros([]);
    kiln.optim.nonFiniteCheckAndUnscale_([t], f, 1);
    expect(await bits(t)).toEqual(raw);
    expect(await f.item()).toBe(1);
    t.dispose();
    f.dispose();
  });

  it('checks f16 tensors', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    const g = kiln.tensor([1, 2, 70000], { dtype: 'f16' }); // 70000 overflows f16 to inf
    const f = kiln.zeros([]);
    kiln.optim.nonFiniteCheckAndUnscale_([g], f, 0.5);
    expect(await f.item()).toBe(1);
    expect(Array.from(await g.data()).slice(0, 2)).toEqual([0.5, 1]);
    g.dispose();
    f.dispose();
  });

  it('bad arguments name the function and the value', () => {
    const g = kiln.zeros([3]);
    const f = kiln.zeros([2]);
    expect(() => kiln.optim.nonFiniteCheckAndUnscale_([g], f)).toThrow('nonFiniteCheckAndUnscale_: foundInf: expected a one-element f32 tensor, got shape [2] f32');
    const flag = kiln.zeros([]);
    expect(() => kiln.optim.nonFiniteCheckAndUnscale_([g, kiln.zeros([2], { dtype: 'i32' })], flag)).toThrow('nonFiniteCheckAndUnscale_: tensors[1] is i32, expected f32 or f16');
    expect(() => kiln.optim.nonFiniteCheckAndUnscale_([g], flag, NaN)).toThrow('nonFiniteCheckAndUnscale_: invScale must be a finite number or a tensor, got NaN');
    for (const t of [g, f, flag]) t.dispose();
  });
});

describe('optimizer.foundInf', () => {
  const seed = TEST_SEED + 17;
  const init = [randomArray(300, seed), randomArray(5, seed + 1)];
  const grads = Array.from({ length: 4 }, (_, t) => init.map((d, i) => Float32Array.from(randomArray(d.length, seed + 10 * t + i + 2))));

  function build(lrTensor: kiln.Tensor | null): { ps: kiln.Tensor[]; opt: kiln.optim.AdamW } {
    const ps = init.map((d) => kiln.tensor(Float32Array.from(d), { requiresGrad: true }));
    const opt = new kiln.optim.AdamW([{ params: [ps[0]!], lr: lrTensor ?? 1e-2 }, { params: [ps[1]!], lr: 3e-3 }], { weightDecay: 0.1 });
    return { ps, opt };
  }
  function setGrads(ps: kiln.Tensor[], gs: readonly Float32Array[]): void {
    ps.forEach((p, i) => {
      p.grad?.dispose();
      p.grad = kiln.tensor(gs[i]!);
    });
  }

  it('a flagged fused AdamW step leaves parameters, moments and steps bitwise untouched, counts itself, and does not read back', async () => {
    const lr = kiln.tensor([1e-2]);
    const a = build(lr);
    const b = build(null);
    const flag = kiln.zeros([]);
    a.opt.foundInf = flag;
    // a checks its gradients into the flag before each step; b, the reference, never sees the bad batch.
    const stepBoth = (t: number): void => {
      setGrads(a.ps, grads[t]!);
      kiln.optim.nonFiniteCheckAndUnscale_(a.ps.map((p) => p.grad!), flag);
      a.opt.step();
      setGrads(b.ps, grads[t]!);
      b.opt.step();
    };
    for (const t of [0, 1]) stepBoth(t);
    await kiln.flush();
    const snapshot = async (opt: kiln.optim.AdamW, ps: kiln.Tensor[]): Promise<Uint32Array[]> => {
      const out: Uint32Array[] = [];
      for (const p of ps) {
        const st = opt.stateOf(p)!;
        for (const t of [p, st.step, st.expAvg, st.expAvgSq]) out.push(await bits(t));
      }
      return out;
    };
    const before = await snapshot(a.opt, a.ps);

    // A NaN in one gradient: the check raises the flag, the step is skipped; neither submits.
    const bad = grads[2]!.map((g) => Float32Array.from(g));
    bad[1]![3] = NaN;
    setGrads(a.ps, bad);
    await kiln.flush();
    const submits = kiln.stats().submits;
    const readbacks = kiln.stats().readbacks;
    kiln.optim.nonFiniteCheckAndUnscale_(a.ps.map((p) => p.grad!), flag);
    a.opt.step();
    expect(kiln.stats().submits).toBe(submits);
    expect(kiln.stats().readbacks).toBe(readbacks);
    expect(await snapshot(a.opt, a.ps)).toEqual(before);
    expect(await flag.item()).toBe(1);
    expect(await a.opt.skippedSteps.item()).toBe(1);

    // Cleared, the run goes on as one that never saw the bad batch.
    flag.zero_();
    for (const t of [2, 3]) stepBoth(t);
    expect(await snapshot(a.opt, a.ps)).toEqual(await snapshot(b.opt, b.ps));
    expect(await a.opt.skippedSteps.item()).toBe(1);
    expect(await b.opt.skippedSteps.item()).toBe(0);
    for (const { opt, ps } of [a, b]) {
      opt.dispose();
      for (const p of ps) p.dispose();
    }
    flag.dispose();
    lr.dispose();
  });

  it('a step with the check, clipping and the flag creates no GPU buffer after warm-up and never submits', async () => {
    const lr = kiln.tensor([1e-2]);
    const { ps, opt } = build(lr);
    const flag = kiln.zeros([]);
    opt.foundInf = flag;
    const x = kiln.tensor(Float32Array.from(randomArray(300, seed + 99)));
    let created = 0;
    let submits = 0;
    let readbacks = 0;
    for (let i = 0; i < 8; i++) {
      if (i === 4) {
        await kiln.flush();
        created = kiln.memory().buffersCreated;
        submits = kiln.stats().submits;
        readbacks = kiln.stats().readbacks;
      }
      kiln.tidy(() => {
        ps[0]!.mul(x).sum().add(ps[1]!.square().sum()).backward();
        kiln.optim.nonFiniteCheckAndUnscale_(ps.map((p) => p.grad!), flag, 0.5);
        kiln.nn.utils.clipGradNorm_(ps, 1, { foundInf: flag });
        opt.step();
        opt.zeroGrad();
      });
    }
    expect(kiln.stats().submits).toBe(submits);
    expect(kiln.stats().readbacks).toBe(readbacks);
    await kiln.flush();
    expect(kiln.memory().buffersCreated).toBe(created);
    expect(await opt.skippedSteps.item()).toBe(0);
    expect(await opt.stateOf(ps[0]!)!.step.item()).toBe(8);
    opt.dispose();
    for (const t of [...ps, lr, flag, x]) t.dispose();
  });

  it('a NaN flag counts as raised', async () => {
    const { ps, opt } = build(null);
    setGrads(ps, grads[0]!);
    const flag = kiln.full([], NaN);
    opt.foundInf = flag;
    const p0 = await bits(ps[0]!);
    opt.step();
    expect(await bits(ps[0]!)).toEqual(p0);
    expect(await opt.stateOf(ps[0]!)!.step.item()).toBe(0);
    opt.dispose();
    for (const t of [...ps, flag]) t.dispose();
  });

  it('optimizers that cannot read the flag refuse a step while it is set, before changing anything', async () => {
    const p = kiln.ones([4], { requiresGrad: true });
    const q = kiln.ones([2, 4], { requiresGrad: true });
    const flag = kiln.zeros([]);
    const unfused = new kiln.optim.AdamW([{ params: [q] }, { params: [p], fused: false }]);
    unfused.foundInf = flag;
    p.grad = kiln.ones([4]);
    q.grad = kiln.ones([2, 4]);
    expect(() => unfused.step()).toThrow('AdamW.step: foundInf is set but parameter 1 is in a group with fused: false (the composed path), which cannot read the GPU flag');
    expect(unfused.stateOf(q)).toBeUndefined();
    const qt = q.detach().t();
    const strided = new kiln.optim.AdamW([qt]);
    strided.foundInf = flag;
    strided.paramGroups[0]!.params[0]!.grad = kiln.ones([4, 2]);
    expect(() => strided.step()).toThrow('AdamW.step: foundInf is set but parameter 0 (f32, strided) takes the composed path, which cannot read the GPU flag');
    const sgd = new kiln.optim.SGD([p], { lr: 0.1 });
    sgd.foundInf = flag;
    expect(() => sgd.step()).toThrow("SGD.step: foundInf is set but parameter 0 takes SGD's composed path (SGD has no fused kernel), which cannot read the GPU flag");
    const two = kiln.zeros([2]);
    expect(() => (sgd.foundInf = two)).toThrow('SGD.foundInf: expected a one-element f32 tensor, got shape [2] f32');
    sgd.foundInf = null;
    sgd.step();
    expect(Array.from(await p.data())).toEqual([0.9, 0.9, 0.9, 0.9].map(Math.fround));
    for (const o of [unfused, strided, sgd]) o.dispose();
    for (const t of [p, q, qt, two, flag]) t.dispose();
  });
});
