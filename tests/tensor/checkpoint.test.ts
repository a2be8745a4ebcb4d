// Activation checkpointing: gradients bitwise equal to the plain run (dropout on, frozen inputs, models),
// RNG and modes replayed, in-place writes caught, and the peak-memory saving measured; enableGrad.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

/** x + fc2(dropout(gelu(fc1(ln(x))))): the residual MLP block of the memory test. */
class ResidualMlp extends kiln.nn.Module {
  constructor(width: number, hidden: number, p: number) {
    super();
    this.registerModule('ln', new kiln.nn.LayerNorm(width));
    this.registerModule('fc1', new kiln.nn.Linear(width, hidden));
    this.registerModule('drop', new kiln.nn.Dropout(p));
    this.registerModule('fc2', new kiln.nn.Linear(hidden, width));
  }
  forward(x: kiln.Tensor): kiln.Tensor {
    const m = (n: string): kiln.nn.UnaryModule => this.getSubmodule(n) as kiln.nn.UnaryModule;
    return x.add(m('fc2').call(m('drop').call(m('fc1').call(m('ln').call(x)).gelu())));
  }
}

function tower(blocks: number, width: number, hidden: number, p: number): kiln.nn.ModuleList<ResidualMlp> {
  return new kiln.nn.ModuleList([...Array(blocks).keys()].map(() => new ResidualMlp(width, hidden, p)));
}

function run(t: kiln.nn.ModuleList<ResidualMlp>, x: kiln.Tensor): kiln.Tensor {
  return kiln.tidy(() => {
    let h = x;
    for (const b of t) h = b.call(h);
    return h.mul(h).mean();
  });
}

const raw = async (t: kiln.Tensor): Promise<number[]> => Array.from(new Uint32Array((await t.data()).buffer.slice(0)));

async function gradBits(m: kiln.nn.Module, extra: kiln.Tensor[] = []): Promise<(number[] | null)[]> {
  const out: (number[] | null)[] = [];
  for (const p of [...m.parameters(), ...extra]) out.push(p.grad ? await raw(p.grad) : null);
  return out;
}

const input = (shape: number[], seed: number, requiresGrad: boolean): kiln.Tensor =>
  kiln.tensor(Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), seed)), { shape, requiresGrad });

describe('kiln.checkpoint', () => {
  it('gives bitwise the plain gradients with dropout on, replays the RNG and leaves it where the forward did', async () => {
    const t = tower(3, 24, 40, 0.3);
    const x = input([5, 24], TEST_SEED, true);
    kiln.manualSeed(TEST_SEED);
    const plain = run(t, x);
    const rngAfterPlain = kiln.getRngState();
    plain.backward();
    const plainGrads = await gradBits(t, [x]);
    const plainLoss = await raw(plain);
    t.zeroGrad();
    x.grad = null;

    for (const b of t) b.gradCheckpointing = true;
    kiln.manualSeed(TEST_SEED);
    const ck = run(t, x);
    expect(kiln.getRngState()).toEqual(rngAfterPlain);
    kiln.manualSeed(TEST_SEED + 99); // backward must not depend on (or move) the RNG state of the moment
    const before = kiln.getRngState();
    ck.backward();
    expect(kiln.getRngState()).toEqual(before);
    expect(await raw(ck)).toEqual(plainLoss);
    expect(await gradBits(t, [x])).toEqual(plainGrads);
    t.dispose();
    for (const v of [x, plain, ck]) v.dispose();
  });

  it('gives parameters gradients when no input requires grad (a frozen lower part)', async () => {
    const t = tower(2, 16, 32, 0);
    const x = input([3, 16], TEST_SEED + 1, false);
    const plain = run(t, x);
    plain.backward();
    const plainGrads = await gradBits(t);
    t.zeroGrad();
    const ck = kiln.tidy(() => kiln.checkpoint((h) => run(t, h), x));
    ck.backward();
    expect(await gradBits(t)).toEqual(plainGrads);
    t.dispose();
    for (const v of [x, plain, ck]) v.dispose();
  });

  it('recomputes in the mode of the forward, even after eval() before backward', async () => {
    const t = tower(2, 16, 32, 0.5);
    const x = input([4, 16], TEST_SEED + 2, true);
    kiln.manualSeed(TEST_SEED);
    const plain = run(t, x);
    plain.backward();
    const plainGrads = await gradBits(t, [x]);
    t.zeroGrad();
    x.grad = null;
    for (const b of t) b.gradCheckpointing = true;
    kiln.manualSeed(TEST_SEED);
    const ck = run(t, x);
    t.eval();
    ck.backward();
    expect(t.training).toBe(false);
    expect(await gradBits(t, [x])).toEqual(plainGrads);
    t.dispose();
    for (const v of [x, plain, ck]) v.dispose();
  });

  it('throws the version error when an input was written in place between forward and backward', () => {
    const w = input([4, 4], TEST_SEED + 3, true);
    const x = input([2, 4], TEST_SEED + 4, false);
    const y = kiln.checkpoint((h) => h.matmul(w).tanh().sum(), x);
    x.add_(1);
    expect(() => y.backward()).toThrow(/checkpoint: one of the variables needed for gradient computation has been modified by an inplace operation/);
    for (const v of [w, x, y]) v.dispose();
  });

  it('frees nothing it returns and keeps no intermediates: a region holds only its input', () => {
    const w = input([8, 8], TEST_SEED + 5, true);
    const x = input([4, 8], TEST_SEED + 6, true);
    const live = kiln.memory().liveTensors;
    const y = kiln.checkpoint((h) => h.matmul(w).relu().matmul(w).sigmoid(), x);
    expect(kiln.memory().liveTensors).toBe(live + 1);
    const loss = y.sum();
    loss.backward();
    expect(x.grad).not.toBeNull();
    for (const v of [w, x, y, loss]) v.dispose();
  });

  it('tiny CLIP and ImageBind with { gradCheckpointing: true }: bitwise the plain gradients', async () => {
    const clipCfg = await kiln.models.loadClipConfig('tiny');
    const ibCfg = await kiln.models.loadImageBindConfig('tiny', { vision: { dropPath: 0.2 }, text: { dropPath: 0.2 } });
    const ids = (ctx: number, vocab: number): kiln.Tensor =>
      kiln.tensor(Int32Array.from({ length: 2 * ctx }, (_, i) => (i % ctx === 4 ? vocab - 1 : (i * 7) % (vocab - 1))), { shape: [2, ctx], dtype: 'i32' });
    const cases = [
      {
        build: (o: kiln.models.BuildOptions) => new kiln.models.ClipModel(clipCfg, o),
        loss: (m: kiln.nn.Module, img: kiln.Tensor, txt: kiln.Tensor) => {
          const out = (m as kiln.models.ClipModel).forward(img, txt);
          return kiln.F.infoNCE(out.imageFeatures, out.textFeatures, out.logitScale);
        },
        img: [2, 3, clipCfg.vision.imageSize, clipCfg.vision.imageSize],
        txt: () => ids(clipCfg.text.contextLength, clipCfg.text.vocabSize),
      },
      {
        build: (o: kiln.models.BuildOptions) => new kiln.models.ImageBindModel(ibCfg, o),
        loss: (m: kiln.nn.Module, img: kiln.Tensor, txt: kiln.Tensor) => {
          const ib = m as kiln.models.ImageBindModel;
          return ib.encode('vision', img).mul(ib.encode('text', txt)).sum();
        },
        img: [2, 3, ibCfg.vision.imageSize, ibCfg.vision.imageSize],
        txt: () => ids(ibCfg.text.contextLength, ibCfg.text.vocabSize),
      },
    ];
    for (const c of cases) {
      kiln.manualSeed(TEST_SEED);
      const plainModel = c.build({});
      kiln.manualSeed(TEST_SEED);
      const ckModel = c.build({ gradCheckpointing: true });
      const img = input(c.img, TEST_SEED + 7, false);
      const txt = c.txt();
      const grads: (number[] | null)[][] = [];
      for (const m of [plainModel, ckModel]) {
        kiln.manualSeed(TEST_SEED + 8);
        const l = kiln.tidy(() => c.loss(m, img, txt));
        l.backward();
        l.dispose();
        grads.push(await gradBits(m));
      }
      expect(grads[1]).toEqual(grads[0]);
      plainModel.dispose();
      ckModel.dispose();
      for (const v of [img, txt]) v.dispose();
    }
  });

  it('peak memory of a checkpointed 12-block tower is at most 40% of the plain one (after a warm-up step)', async () => {
    // The step's peak above what lives across steps (parameters, gradients, AdamW moments): the memory a
    // forward + backward needs, which is what checkpointing trades for compute.
    const peak = async (ck: boolean): Promise<{ step: number; total: number }> => {
      kiln.manualSeed(TEST_SEED);
      const t = tower(12, 256, 1024, 0.1);
      for (const b of t) b.gradCheckpointing = ck;
      const opt = new kiln.optim.AdamW(t.parameters(), { lr: 1e-4 });
      const x = input([16, 64, 256], TEST_SEED + 9, false);
      const step = (v: kiln.Tensor): void => {
        const loss = run(t, v);
        loss.backward();
        loss.dispose();
      };
      // The warm-up only has to create the gradients and AdamW's moments: one token is enough.
      const one = x.narrow(0, 0, 1).narrow(1, 0, 1);
      step(one);
      one.dispose();
      opt.step();
      await kiln.flush();
      kiln.resetPeakMemory();
      const base = kiln.memory().peakBytes;
      step(x);
      await kiln.flush();
      const total = kiln.memory().peakBytes;
      t.dispose();
      x.dispose();
      opt.zeroGrad();
      return { step: total - base, total };
    };
    const plain = await peak(false);
    const ck = await peak(true);
    const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
    console.log(
      `checkpoint memory: step peak plain ${mib(plain.step)} MiB, checkpointed ${mib(ck.step)} MiB (${((100 * ck.step) / plain.step).toFixed(1)}%); ` +
        `with parameters, gradients and moments ${mib(plain.total)} vs ${mib(ck.total)} MiB`,
    );
    expect(ck.step).toBeLessThanOrEqual(0.4 * plain.step);
  }, 300_000);
});

describe('kiln.enableGrad', () => {
  it('records inside noGrad and restores the outer mode', () => {
    const w = input([3], TEST_SEED + 10, true);
    kiln.noGrad(() => {
      expect(kiln.isGradEnabled()).toBe(false);
      const y = kiln.enableGrad(() => {
        expect(kiln.isGradEnabled()).toBe(true);
        return w.mul(2);
      });
      expect(y.requiresGrad).toBe(true);
      expect(kiln.isGradEnabled()).toBe(false);
      y.dispose();
    });
    expect(kiln.isGradEnabled()).toBe(true);
    w.dispose();
  });
});
