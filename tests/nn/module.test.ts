// Module registration, names, state dicts (strict loading errors), modes, freezing, and the basic layers.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { randomArray } from '../helpers/random.js';

class Block extends kiln.nn.Module {
  readonly inProjWeight = this.registerParameter('in_proj_weight', kiln.randn([6, 2], { requiresGrad: true }));
  readonly mask = this.registerBuffer('attn_mask', kiln.zeros([2, 2]));
  readonly scratch = this.registerBuffer('scratch', kiln.zeros([1]), { persistent: false });
  readonly fc = this.registerModule('fc', new kiln.nn.Linear(2, 3));
}

describe('Module', () => {
  it('keeps upstream names and registration order in stateDict', () => {
    const m = new kiln.nn.ModuleDict({ vision: new Block(), text: new kiln.nn.Sequential(new kiln.nn.Linear(3, 4), new kiln.nn.Linear(4, 1, { bias: false })) });
    expect([...m.stateDict().keys()]).toEqual([
      'vision.in_proj_weight', 'vision.attn_mask', 'vision.fc.weight', 'vision.fc.bias', 'text.0.weight', 'text.0.bias', 'text.1.weight',
    ]);
    expect([...m.namedParameters()].map(([n]) => n)).toEqual(['vision.in_proj_weight', 'vision.fc.weight', 'vision.fc.bias', 'text.0.weight', 'text.0.bias', 'text.1.weight']);
    expect(m.numParameters()).toBe(12 + 6 + 3 + 12 + 4 + 4);
    m.dispose();
  });

  it('loads a state dict and lists missing, unexpected and wrongly-shaped keys when strict', async () => {
    const a = new Block();
    const b = new Block();
    b.loadStateDict(a.stateDict());
    expect(Array.from(await b.fc.weight.data())).toEqual(Array.from(await a.fc.weight.data()));
    const sd = new Map(a.stateDict());
    sd.delete('fc.bias');
    sd.set('extra', kiln.zeros([1]));
    sd.set('attn_mask', kiln.zeros([3, 3]));
    expect(() => b.loadStateDict(sd)).toThrow(/missing keys \(1\): fc\.bias[\s\S]*unexpected keys \(1\): extra[\s\S]*size mismatch \(1\): attn_mask: checkpoint \[3,3\] vs model \[2,2\]/);
    sd.set('attn_mask', kiln.zeros([2, 2]));
    const r = b.loadStateDict(sd, { strict: false });
    expect(r.missingKeys).toEqual(['fc.bias']);
    expect(r.unexpectedKeys).toEqual(['extra']);
    a.dispose();
    b.dispose();
  });

  it('switches train/eval recursively and freezes parameters', () => {
    const m = new kiln.nn.Sequential(new kiln.nn.Linear(2, 2), new kiln.nn.Linear(2, 2));
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.requiresGrad_(false);
    expect(m.parameters().every((p) => !p.requiresGrad)).toBe(true);
    const y = m.forward(kiln.ones([1, 2]));
    expect(y.requiresGrad).toBe(false);
    m.dispose();
  });

  it('Linear computes x·Wᵀ + b (float64 reference) and initialises like PyTorch (bounds ±1/√in)', async () => {
    const lin = new kiln.nn.Linear(33, 7);
    const w = await lin.weight.data();
    const bound = 1 / Math.sqrt(33);
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    const xs = randomArray(5 * 33, 3);
    const x = kiln.tensor(Float32Array.from(xs), { shape: [5, 33] });
    const got = await lin.forward(x).data();
    const b = await lin.bias!.data();
    const ref = new Float64Array(35);
    for (let i = 0; i < 5; i++) for (let o = 0; o < 7; o++) {
      let s = b[o]!;
      for (let k = 0; k < 33; k++) s += xs[i * 33 + k]! * w[o * 33 + k]!;
      ref[i * 7 + o] = s;
    }
    expect(got).toBeAllClose(ref, { rtol: 1e-6 });
    expect(() => lin.forward(kiln.ones([2, 3]))).toThrow(/Linear: expected input with last dimension 33, got shape \[2,3\]/);
    lin.dispose();
  });
});

describe('LayerNorm, Embedding, Dropout modules', () => {
  it('keep PyTorch names and defaults, and forward through the functional ops', async () => {
    const ln = new kiln.nn.LayerNorm(8, 1e-6);
    expect([...ln.stateDict().keys()]).toEqual(['weight', 'bias']);
    const x = kiln.randn([3, 8]);
    expect(await ln.forward(x).data()).toBeAllClose(await kiln.F.layerNorm(x, [8], null, null, 1e-6).data(), { rtol: 1e-6 });
    const emb = new kiln.nn.Embedding(10, 4);
    expect(emb.weight.shape).toEqual([10, 4]);
    expect(emb.forward(kiln.tensor(Int32Array.from([1, 2, 3]))).shape).toEqual([3, 4]);
    const drop = new kiln.nn.Dropout(0.5);
    const seq = new kiln.nn.Sequential(new kiln.nn.Linear(8, 8), new kiln.nn.GELU(), drop);
    seq.eval();
    const y1 = await seq.forward(x).data();
    const y2 = await seq.forward(x).data();
    expect(Array.from(y1)).toEqual(Array.from(y2)); // eval: dropout is the identity
    expect(() => new kiln.nn.Dropout(2)).toThrow(/Dropout: probability has to be between 0 and 1, but got 2/);
    for (const m of [ln, emb, seq]) m.dispose();
  });
});

describe('initialisers', () => {
  it('truncNormal_ draws N(mean, std) truncated to [a, b] (moments of the truncated normal)', async () => {
    kiln.manualSeed(5);
    const t = kiln.empty([50_000]);
    kiln.nn.init.truncNormal_(t, 0.5, 1, -1, 2);
    const d = await t.data();
    let s = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of d) {
      s += v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(2);
    // mean of N(0.5, 1) truncated to [−1, 2] = 0.5 + (φ(−1.5) − φ(1.5)) / (Φ(1.5) − Φ(−1.5)) = 0.5
    expect(Math.abs(s / d.length - 0.5)).toBeLessThan(0.02);
    t.dispose();
  });

  it('erfinv inverts erf and has the right gradient', async () => {
    const x = kiln.tensor([-0.999, -0.5, 0, 0.3, 0.9, 0.99999]);
    const y = await x.erfinv().data();
    const erf = (v: number): number => {
      // series-free check: erf via numeric integration of the density
      let s = 0;
      const n = 20000;
      for (let i = 0; i < n; i++) s += Math.exp(-((((i + 0.5) * v) / n) ** 2));
      return (2 / Math.sqrt(Math.PI)) * s * (v / n);
    };
    [-0.999, -0.5, 0, 0.3, 0.9, 0.99999].forEach((v, i) => expect(Math.abs(erf(y[i]!) - v)).toBeLessThan(2e-6));
    await gradcheck((a) => a.erfinv(), [{ shape: [5], data: [-0.7, -0.2, 0.1, 0.4, 0.6] }], { eps: 1e-3 });
  });
});
