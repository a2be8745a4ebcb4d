// Optimizer state dicts in torch's layout: a model and optimizer rebuilt from saved bits continue bit-exactly
// (two groups, a parameter that first gets a gradient later), torch's per-parameter step, tensor learning
// rates on load, and the checks a bad state dict fails.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

type AnyStateDict = kiln.optim.OptimizerStateDict<Record<string, kiln.Tensor>, Record<string, unknown>>;

/** A state dict copied to the CPU (raw f32 values), as a checkpoint file would hold it. */
interface Saved {
  state: Map<number, Record<string, { shape: number[]; data: Float32Array }>>;
  groups: Record<string, unknown>[];
}

async function save(sd: AnyStateDict): Promise<Saved> {
  const state = new Map<number, Record<string, { shape: number[]; data: Float32Array }>>();
  for (const [k, entry] of sd.state) {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, t] of Object.entries(entry)) out[name] = { shape: [...t.shape], data: (await t.data()) as Float32Array };
    state.set(k, out);
  }
  const groups = await Promise.all(
    sd.param_groups.map(async (g) => ({ ...g, lr: g['lr'] instanceof kiln.Tensor ? { tensor: (await g['lr'].data()) as Float32Array } : g['lr'] })),
  );
  return { state, groups };
}

function restore(s: Saved): { state: Map<number, Record<string, kiln.Tensor>>; param_groups: (Record<string, unknown> & { params: number[] })[] } {
  const state = new Map<number, Record<string, kiln.Tensor>>();
  for (const [k, entry] of s.state) state.set(k, Object.fromEntries(Object.entries(entry).map(([n, v]) => [n, kiln.tensor(v.data, { shape: v.shape })])));
  const param_groups = s.groups.map((g) => {
    const lr = g['lr'] as number | { tensor: Float32Array };
    return { ...g, lr: typeof lr === 'number' ? lr : kiln.tensor(lr.tensor), params: g['params'] as number[] };
  });
  return { state, param_groups };
}

function freeDict(sd: ReturnType<typeof restore>): void {
  for (const e of sd.state.values()) for (const t of Object.values(e)) t.dispose();
  for (const g of sd.param_groups) if (g['lr'] instanceof kiln.Tensor) g['lr'].dispose();
}

async function bits(t: kiln.Tensor): Promise<Uint32Array> {
  const d = await t.data();
  return new Uint32Array(d.buffer, d.byteOffset, d.length);
}

/** A three-layer model of plain tensors; `w3` takes part (and gets a gradient) only from step 3 on. */
class Model {
  readonly w1: kiln.Tensor;
  readonly b1: kiln.Tensor;
  readonly w2: kiln.Tensor;
  readonly w3: kiln.Tensor;
  constructor(init: readonly Float32Array[]) {
    const shapes = [[6, 8], [8], [8, 3], [6, 3]];
    [this.w1, this.b1, this.w2, this.w3] = shapes.map((s, i) => kiln.tensor(init[i]!, { shape: s, requiresGrad: true })) as [kiln.Tensor, kiln.Tensor, kiln.Tensor, kiln.Tensor];
  }
  params(): kiln.Tensor[] {
    return [this.w1, this.b1, this.w2, this.w3];
  }
  /** Forward and backward on batch `t`. */
  train(x: kiln.Tensor, t: number): void {
    kiln.tidy(() => {
      let y = x.matmul(this.w1).add(this.b1).tanh().matmul(this.w2);
      if (t >= 3) y = y.add(x.matmul(this.w3));
      y.square().mean().backward();
    });
  }
  dispose(): void {
    for (const p of this.params()) p.dispose();
  }
}

function makeAdamW(m: Model, fused: boolean, lr0: number | kiln.Tensor, lr1: number): kiln.optim.AdamW {
  return new kiln.optim.AdamW(
    [
      { params: [m.w1, m.w2], lr: lr0, weightDecay: 0.1 },
      { params: [m.b1, m.w3], lr: lr1, weightDecay: 0 },
    ],
    { betas: [0.8, 0.9], eps: 1e-6, fused },
  );
}

describe('optimizer state dicts', () => {
  const seed = TEST_SEED;
  const init = [48, 8, 24, 18].map((n, i) => Float32Array.from(randomArray(n, seed + i, 0.5)));
  const batches = Array.from({ length: 7 }, (_, t) => Float32Array.from(randomArray(4 * 6, seed + 100 + t)));

  for (const variant of ['fused, tensor lr', 'unfused'] as const)
    it(`AdamW (${variant}): a model and optimizer rebuilt from both saved state dicts continue bit-exactly (seed ${seed})`, async () => {
      const fused = variant !== 'unfused';
      const a = new Model(init);
      const lrA = fused ? kiln.tensor([3e-2]) : 3e-2;
      const optA = makeAdamW(a, fused, lrA, 1e-2);
      const xs = batches.map((b) => kiln.tensor(b, { shape: [4, 6] }));
      const trainStep = (m: Model, opt: kiln.optim.AdamW, t: number): void => {
        m.train(xs[t]!, t);
        opt.step();
        opt.zeroGrad();
      };
      for (let t = 0; t < 4; t++) trainStep(a, optA, t);

      // Checkpoint: weights and optimizer state to the CPU, then a fresh model and optimizer (built with other
      // hyper-parameters, which the load replaces) from those bytes alone.
      const weights = await Promise.all(a.params().map(async (p) => (await p.data()) as Float32Array));
      const saved = await save(optA.stateDict() as unknown as AnyStateDict);
      const b = new Model(weights);
      const lrB = fused ? kiln.tensor([7]) : 7;
      const optB = makeAdamW(b, fused, lrB, 5);
      const sd = restore(saved);
      optB.loadStateDict(sd as unknown as kiln.optim.LoadableStateDict<kiln.optim.AdamWTorchState, kiln.optim.AdamWParamGroupState>);
      freeDict(sd); // the optimizer copied what it needs
      if (lrB instanceof kiln.Tensor) {
        expect(optB.paramGroups[0]!.options.lr).toBe(lrB); // the schedule's tensor is kept, its value loaded
        expect(await lrB.item()).toBe(Math.fround(3e-2));
      }

      for (let t = 4; t < 7; t++) {
        trainStep(a, optA, t);
        trainStep(b, optB, t);
      }
      for (const [i, p] of a.params().entries()) expect(await bits(b.params()[i]!), `parameter ${i}`).toEqual(await bits(p));
      const [sa, sb] = [optA.stateDict(), optB.stateDict()];
      for (const [k, e] of sa.state) {
        const f = sb.state.get(k)!;
        for (const key of ['step', 'exp_avg', 'exp_avg_sq'] as const) expect(await bits(f[key]), `state[${k}].${key}`).toEqual(await bits(e[key]));
      }
      // torch's per-parameter step: w3 (index 3) first got a gradient at step 3 of 7, so it has taken 4 steps.
      expect(await sa.state.get(3)!.step.item()).toBe(4);
      expect(await sa.state.get(0)!.step.item()).toBe(7);
      expect(sb.param_groups.map((g) => [g.lr instanceof kiln.Tensor ? 'tensor' : g.lr, g.weight_decay, g.params])).toEqual([
        [fused ? 'tensor' : 3e-2, 0.1, [0, 1]],
        [1e-2, 0, [2, 3]],
      ]);
      for (const o of [optA, optB]) o.dispose();
      for (const m of [a, b]) m.dispose();
      for (const t of [...xs, lrA, lrB]) if (t instanceof kiln.Tensor) t.dispose();
    });

  it('AdamW: a parameter that first gets a gradient later starts at step 1 (float64 reference)', async () => {
    const p = kiln.tensor(Float32Array.from(randomArray(5, seed + 7)), { requiresGrad: true });
    const q = kiln.zeros([5], { requiresGrad: true });
    const opt = new kiln.optim.AdamW([p, q], { lr: 0.1, weightDecay: 0.5, betas: [0.9, 0.99], eps: 1e-3 });
    const g = Float32Array.from(randomArray(5, seed + 8));
    const p0 = await p.data();
    for (let t = 0; t < 3; t++) {
      q.grad = kiln.tensor(g);
      opt.step();
      opt.zeroGrad();
    }
    p.grad = kiln.tensor(g);
    opt.step();
    // At step 1 the bias corrections cancel the (1 − β) factors: p·(1 − lr·wd) − lr · g / (|g| + ε).
    const ref = Array.from(p0, (x, k) => x * (1 - 0.1 * 0.5) - (0.1 * g[k]!) / (Math.abs(g[k]!) + 1e-3));
    expect(await p.data()).toBeAllClose(ref, { rtol: 1e-6 });
    expect(await opt.stateOf(p)!.step.item()).toBe(1);
    expect(await opt.stateOf(q)!.step.item()).toBe(3);
    opt.dispose();
    p.dispose();
    q.dispose();
  });

  it('AdamW: torch’s layout and key spellings; a saved step may be a plain number', async () => {
    const p = kiln.ones([2, 3], { requiresGrad: true });
    const opt = new kiln.optim.AdamW([p], { lr: 1e-3 });
    p.grad = kiln.ones([2, 3]);
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.param_groups[0]!)).toEqual(['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'foreach', 'capturable', 'differentiable', 'fused', 'params']);
    expect([...sd.state.keys()]).toEqual([0]);
    const st = sd.state.get(0)!;
    expect(Object.keys(st)).toEqual(['step', 'exp_avg', 'exp_avg_sq']);
    expect([st.step.shape, st.step.dtype]).toEqual([[], 'f32']);
    const expAvg = await bits(st.exp_avg);
    const opt2 = new kiln.optim.AdamW([p], { lr: 1e-3 });
    opt2.loadStateDict({ state: { '0': { ...st, step: 41 as unknown as kiln.Tensor } }, param_groups: sd.param_groups });
    expect(await opt2.stateOf(p)!.step.item()).toBe(41);
    expect(await bits(opt2.stateOf(p)!.expAvg)).toEqual(expAvg);
    opt.loadStateDict(opt.stateDict()); // its own state dict: a no-op (the old state tensors are freed)
    expect(await bits(opt.stateOf(p)!.expAvg)).toEqual(expAvg);
    expect(await opt.stateOf(p)!.step.item()).toBe(1);
    for (const o of [opt, opt2]) o.dispose();
    p.dispose();
  });

  it('the fused and the composed AdamW produce the same state dict', async () => {
    const [a, b] = [new Model(init), new Model(init)];
    const [fa, fb] = [makeAdamW(a, true, 3e-2, 1e-2), makeAdamW(b, false, 3e-2, 1e-2)];
    const xs = batches.slice(0, 4).map((x) => kiln.tensor(x, { shape: [4, 6] }));
    xs.forEach((x, t) => {
      for (const [m, o] of [[a, fa], [b, fb]] as const) {
        m.train(x, t);
        o.step();
        o.zeroGrad();
      }
    });
    const [sa, sb] = [fa.stateDict(), fb.stateDict()];
    expect([...sb.state.keys()]).toEqual([...sa.state.keys()]);
    expect(sb.param_groups.map(({ fused, ...g }) => [fused, g])).toEqual(sa.param_groups.map(({ fused, ...g }) => [!fused, g]));
    for (const [k, e] of sa.state) {
      const f = sb.state.get(k)!;
      expect(await bits(f.step), `state[${k}].step`).toEqual(await bits(e.step));
      for (const key of ['exp_avg', 'exp_avg_sq'] as const) expect(await f[key].data(), `state[${k}].${key}`).toBeAllClose(await e[key].data(), { rtol: 1e-5 });
    }
    for (const o of [fa, fb]) o.dispose();
    for (const t of [a, b, ...xs]) t.dispose();
  });

  it('a number-lr group adopts a saved tensor lr as its own copy', async () => {
    const p = kiln.ones([2], { requiresGrad: true });
    const lr = kiln.tensor([0.25]);
    const src = new kiln.optim.AdamW([p], { lr });
    const dst = new kiln.optim.AdamW([p], { lr: 1 });
    dst.loadStateDict(src.stateDict());
    const adopted = dst.paramGroups[0]!.options.lr;
    expect(adopted).toBeInstanceOf(kiln.Tensor);
    expect(adopted).not.toBe(lr);
    lr.fill_(0.5);
    expect(await (adopted as kiln.Tensor).item()).toBe(0.25);
    for (const o of [src, dst]) o.dispose();
    expect((adopted as kiln.Tensor).isDisposed).toBe(true);
    lr.dispose();
    p.dispose();
  });

  it('SGD with momentum: rebuilt from its saved state dict, it continues bit-exactly', async () => {
    const a = new Model(init);
    const make = (m: Model, lr: number): kiln.optim.SGD =>
      new kiln.optim.SGD([{ params: [m.w1, m.b1] }, { params: [m.w2, m.w3], lr: lr / 2, nesterov: true, dampening: 0 }], { lr, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3 });
    const optA = make(a, 0.05);
    const xs = batches.map((x) => kiln.tensor(x, { shape: [4, 6] }));
    for (let t = 0; t < 4; t++) {
      a.train(xs[t]!, t);
      optA.step();
      optA.zeroGrad();
    }
    const sd0 = optA.stateDict();
    expect(Object.keys(sd0.param_groups[1]!)).toEqual(['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize', 'foreach', 'differentiable', 'fused', 'params']);
    expect(Object.keys(sd0.state.get(0)!)).toEqual(['momentum_buffer']);
    const saved = await save(sd0 as unknown as AnyStateDict);
    const b = new Model(await Promise.all(a.params().map(async (p) => (await p.data()) as Float32Array)));
    const optB = make(b, 1);
    const sd = restore(saved);
    optB.loadStateDict(sd as unknown as kiln.optim.LoadableStateDict<kiln.optim.SGDTorchState, kiln.optim.SGDParamGroupState>);
    freeDict(sd);
    for (let t = 4; t < 7; t++)
      for (const [m, o] of [[a, optA], [b, optB]] as const) {
        m.train(xs[t]!, t);
        o.step();
        o.zeroGrad();
      }
    for (const [i, p] of a.params().entries()) expect(await bits(b.params()[i]!), `parameter ${i}`).toEqual(await bits(p));
    for (const o of [optA, optB]) o.dispose();
    for (const m of [a, b]) m.dispose();
    for (const x of xs) x.dispose();
  });

  it('loadStateDict refuses a mismatched state dict with the field and the values, and changes nothing', async () => {
    const p = kiln.ones([2, 3], { requiresGrad: true });
    const q = kiln.ones([4], { requiresGrad: true });
    const opt = new kiln.optim.AdamW([{ params: [p] }, { params: [q], lr: 0.5 }]);
    p.grad = kiln.ones([2, 3]);
    q.grad = kiln.ones([4]);
    opt.step();
    const good = opt.stateDict();
    type SD = kiln.optim.LoadableStateDict<kiln.optim.AdamWTorchState, kiln.optim.AdamWParamGroupState>;
    const g0 = good.param_groups[0]!;
    const g1 = good.param_groups[1]!;
    const bad: [SD, string][] = [
      [{ state: good.state, param_groups: [g0] }, 'AdamW.loadStateDict: the state dict has 1 parameter groups, this optimizer has 2'],
      [{ state: good.state, param_groups: [g0, { ...g1, params: [1, 2] }] }, "AdamW.loadStateDict: param_groups[1] has 2 parameters, this optimizer's group 1 has 1"],
      [{ state: new Map([[0, { ...good.state.get(0)!, exp_avg: good.state.get(1)!.exp_avg }]]), param_groups: [g0, g1] }, 'AdamW.loadStateDict: state[0].exp_avg has shape [4], the parameter has shape [2,3]'],
      [{ state: new Map([[5, good.state.get(0)!]]), param_groups: [g0, g1] }, 'AdamW.loadStateDict: state has an entry for parameter 5, which no param_groups entry lists'],
      [{ state: good.state, param_groups: [{ ...g0, amsgrad: true }, g1] }, "AdamW.loadStateDict: param_groups[0].amsgrad: Kiln's AdamW has no amsgrad variant"],
      [{ state: good.state, param_groups: [g0, { ...g1, betas: [0.9, 1.5] }] }, 'AdamW.loadStateDict: param_groups[1]: invalid beta parameters: 0.9, 1.5'],
      [{ state: good.state, param_groups: [g0, { ...g1, eps: 'x' as unknown as number }] }, 'AdamW.loadStateDict: param_groups[1].eps: expected a number, got "x"'],
    ];
    for (const [sd, msg] of bad) expect(() => opt.loadStateDict(sd)).toThrow(msg);
    expect(opt.paramGroups[1]!.options.lr).toBe(0.5);
    expect(await opt.stateOf(p)!.step.item()).toBe(1);
    opt.dispose();
    p.dispose();
    q.dispose();
  });

  it('a step over a disposed parameter (replaced by loading weights) says to build the optimizer after loading', () => {
    const p = kiln.ones([2], { requiresGrad: true });
    const opt = new kiln.optim.SGD([p], { lr: 0.1 });
    p.dispose();
    expect(() => opt.step()).toThrow('SGD.step: parameter 0 [2] was disposed (replaced by loading weights with assign?); build the optimizer after loading weights');
    opt.dispose();
  });
});
