// The multi-tensor optimizer kernels: AdamW two parameters a dispatch against one a dispatch (bit for bit, lr
// as a number and as a GPU tensor, maximize, f16 gradients, a raised flag), the step counters seven a
// dispatch, the gradient-norm partials seven tensors a dispatch against one each, and the dispatch counts.
import { describe, expect, it } from 'vitest';
import { runAdamW, type AdamWHyper, type AdamWSlot } from '../../src/kernels/adamw.js';
import { runFlagCount } from '../../src/kernels/flag-count.js';
import { NORM_CHUNK, runNormPartials } from '../../src/kernels/grad-norm.js';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

async function bits(t: kiln.Tensor): Promise<number[]> {
  const d = await t.data();
  return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
}

const SIZES = [300, 5, 4097, 1, 9000];

describe('multi-tensor AdamW', () => {
  const seed = TEST_SEED + 29;

  for (const gradType of ['f32', 'f16'] as const)
    it(`two parameters a dispatch equal one a dispatch bitwise (${gradType} gradients, seed ${seed})`, async () => {
      if (gradType === 'f16' && !kiln.deviceInfo().features.includes('shader-f16')) return;
      const run = async (perDispatch: 1 | 2, lrTensor: boolean, maximize: boolean, flagValue: number): Promise<number[][]> => {
        const make = (k: number, n: number): kiln.Tensor => kiln.tensor(Float32Array.from(randomArray(n, seed + k * 7 + n)));
        const ps = SIZES.map((n) => make(0, n));
        const ms = SIZES.map((n) => make(1, n));
        const vs = SIZES.map((n) => make(2, n).abs());
        const gs = SIZES.map((n) => make(3, n).cast(gradType));
        const steps = SIZES.map((_, i) => kiln.tensor([i + 1]));
        const flag = kiln.tensor([flagValue]);
        const lr = kiln.tensor([0.01]);
        const slots: AdamWSlot[] = SIZES.map((n, i) => ({
          n, param: ps[i]!.operand('t'), expAvg: ms[i]!.operand('t'), expAvgSq: vs[i]!.operand('t'), grad: gs[i]!.operand('t'), step: steps[i]!.operand('t'),
        }));
        const h: AdamWHyper = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maximize, lr: lrTensor ? lr.operand('t') : 0.02 };
        runAdamW(slots, flag.operand('t'), h, perDispatch);
        const out = await Promise.all([...ps, ...ms, ...vs].map(bits));
        for (const t of [...ps, ...ms, ...vs, ...gs, ...steps, flag, lr]) t.dispose();
        return out;
      };
      for (const [lrTensor, maximize] of [[false, false], [true, true]] as const) {
        const one = await run(1, lrTensor, maximize, 0);
        expect(await run(2, lrTensor, maximize, 0)).toEqual(one);
      }
      // A raised flag (here NaN) leaves everything as it was, in both kernels.
      const untouched = await run(1, false, false, NaN);
      expect(await run(2, false, false, NaN)).toEqual(untouched);
    });

  it('an AdamW step over 9 parameters takes 2 step-counter, 5 update and 1 skipped-step dispatches; the counters advance only while the flag is clear', async () => {
    const ps = Array.from({ length: 9 }, (_, i) => kiln.tensor(Float32Array.from(randomArray(10 + i, seed + i)), { requiresGrad: true }));
    const opt = new kiln.optim.AdamW(ps, { lr: 0.01 });
    opt.foundInf = kiln.zeros([]);
    for (const p of ps) p.grad = kiln.onesLike(p);
    opt.step(); // warm-up: state and pipelines
    kiln.resetStats();
    opt.step();
    expect(kiln.stats().dispatches).toBe(8);
    opt.foundInf.fill_(1);
    opt.step();
    expect(await Promise.all(ps.map((p) => opt.stateOf(p)!.step.item()))).toEqual(Array<number>(9).fill(2));
    expect(await opt.skippedSteps.item()).toBe(1);
    opt.dispose();
    for (const p of ps) p.dispose();
  });

  it('the counter kernel advances each counter once, 7 a dispatch, leaving the others alone', async () => {
    const cs = Array.from({ length: 10 }, (_, i) => kiln.tensor([i]));
    const flag = kiln.zeros([]);
    runFlagCount(cs.slice(0, 8).map((c) => c.operand('t')), flag.operand('t'), false);
    runFlagCount([cs[9]!.operand('t')], flag.operand('t'), true); // flag clear: not counted
    expect(await Promise.all(cs.map((c) => c.item()))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 8, 9]);
    for (const t of [...cs, flag]) t.dispose();
  });
});

describe('multi-tensor gradient-norm partials', () => {
  const seed = TEST_SEED + 31;

  it('seven tensors a dispatch write the partials of one dispatch each, bitwise, at offsets and for every norm kind', async () => {
    const sizes = [1, 4096, 4097, 300, 9000, 5, 12000, 77, 8193];
    const base = sizes.map((n, i) => kiln.tensor(Float32Array.from(randomArray(n + 3, seed + i))));
    const views = base.map((t, i) => t.slice(0, 3, sizes[i]! + 3)); // offset 3 into its buffer
    const starts: number[] = [];
    let count = 0;
    for (const n of sizes) {
      starts.push(count);
      count += Math.ceil(n / NORM_CHUNK);
    }
    const inputs = views.map((v, i) => ({ n: sizes[i]!, values: v.operand('t'), outIndex: starts[i]! }));
    for (const [kind, p] of [['l2', 2], ['l1', 1], ['inf', Infinity], ['p', 3]] as const) {
      const one = kiln.full([count], -1);
      const packed = kiln.full([count], -2);
      for (const input of inputs) runNormPartials([input], one.storage.buffer, kind, p);
      runNormPartials(inputs, packed.storage.buffer, kind, p);
      expect(await bits(packed), kind).toEqual(await bits(one));
      one.dispose();
      packed.dispose();
    }
    for (const t of base) t.dispose();
  });
});
