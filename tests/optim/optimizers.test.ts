// SGD and AdamW against float64 references of torch.optim's update rules, over 10 steps with fresh random
// gradients, with parameter groups carrying their own hyper-parameters.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { randomArray } from '../helpers/random.js';

const N = 130;
const seedBase = 77;

function setGrad(p: kiln.Tensor, g: Float64Array): void {
  p.grad?.dispose();
  p.grad = kiln.tensor(Float32Array.from(g), { shape: p.shape });
}

describe('optimizers', () => {
  for (const variant of ['fused', 'unfused', 'fused, lr as a GPU tensor', 'unfused, lr as a GPU tensor'] as const)
  it(`AdamW (${variant}) matches a float64 reference of PyTorch’s update over 10 steps (rtol 1e-6), per-group lr and wd`, async () => {
    const init = [randomArray(N, seedBase), randomArray(7, seedBase + 1)];
    const ps = init.map((d) => kiln.tensor(Float32Array.from(d), { requiresGrad: true }));
    const groups = [{ lr: 1e-2, weightDecay: 0.1 }, { lr: 3e-3, weightDecay: 0 }];
    const lrs = variant.endsWith('GPU tensor') ? groups.map((g) => kiln.tensor([g.lr])) : groups.map((g) => g.lr);
    const opt = new kiln.optim.AdamW(
      [{ params: [ps[0]!], ...groups[0], lr: lrs[0]! }, { params: [ps[1]!], ...groups[1], lr: lrs[1]! }],
      { betas: [0.9, 0.95], eps: 1e-6, fused: variant.startsWith('fused') },
    );
    const ref = init.map((d) => Float64Array.from(Float32Array.from(d)));
    const m = ref.map((r) => new Float64Array(r.length));
    const v = ref.map((r) => new Float64Array(r.length));
    for (let t = 1; t <= 10; t++) {
      ps.forEach((p, i) => {
        const g = Float64Array.from(Float32Array.from(randomArray(p.numel(), 1000 * t + i)));
        setGrad(p, g);
        const { lr, weightDecay } = groups[i]!;
        const r = ref[i]!;
        for (let k = 0; k < r.length; k++) {
          r[k]! *= 1 - lr * weightDecay;
          m[i]![k] = 0.9 * m[i]![k]! + 0.1 * g[k]!;
          v[i]![k] = 0.95 * v[i]![k]! + 0.05 * g[k]! * g[k]!;
          const denom = Math.sqrt(v[i]![k]!) / Math.sqrt(1 - 0.95 ** t) + 1e-6;
          r[k] = r[k]! - (lr / (1 - 0.9 ** t)) * (m[i]![k]! / denom);
        }
      });
      opt.step();
    }
    for (let i = 0; i < 2; i++) expect(await ps[i]!.data()).toBeAllClose(ref[i]!, { rtol: 1e-6 });
    expect(await opt.stateOf(ps[0]!)!.step.data()).toEqual(Float32Array.of(10));
    opt.dispose();
    for (const t of [...ps, ...lrs]) if (t instanceof kiln.Tensor) t.dispose();
  });

  it('SGD with momentum, dampening, weight decay and Nesterov matches a float64 reference over 10 steps', async () => {
    for (const nesterov of [false, true]) {
      const d0 = randomArray(N, seedBase + 5);
      const p = kiln.tensor(Float32Array.from(d0), { requiresGrad: true });
      const h = { lr: 0.05, momentum: 0.9, dampening: nesterov ? 0 : 0.1, weightDecay: 0.01, nesterov };
      const opt = new kiln.optim.SGD([p], h);
      const r = Float64Array.from(Float32Array.from(d0));
      let buf: Float64Array | null = null;
      for (let t = 1; t <= 10; t++) {
        const g = Float64Array.from(Float32Array.from(randomArray(N, 500 + t)));
        setGrad(p, g);
        const d = g.map((x, k) => x + h.weightDecay * r[k]!);
        buf = buf ? buf.map((b, k) => h.momentum * b + (1 - h.dampening) * d[k]!) : Float64Array.from(d);
        const step = nesterov ? d.map((x, k) => x + h.momentum * buf![k]!) : buf;
        for (let k = 0; k < N; k++) r[k] = r[k]! - h.lr * step[k]!;
        opt.step();
      }
      expect(await p.data()).toBeAllClose(r, { rtol: 1e-6 });
      opt.dispose();
      p.dispose();
    }
  });

  it('a training step with AdamW allocates no new GPU buffers after warm-up, and zeroGrad clears grads', async () => {
    const lin = new kiln.nn.Linear(16, 4);
    const opt = new kiln.optim.AdamW(lin.parameters(), { lr: 1e-3 });
    const x = kiln.randn([8, 16]);
    let created = 0;
    for (let i = 0; i < 20; i++) {
      kiln.tidy(() => {
        const loss = lin.forward(x).square().mean();
        loss.backward();
        opt.step();
        opt.zeroGrad();
      });
      await kiln.flush();
      if (i === 4) created = kiln.memory().buffersCreated;
    }
    expect(kiln.memory().buffersCreated).toBe(created);
    expect(lin.weight.grad).toBeNull();
    expect(() => new kiln.optim.AdamW([], {})).toThrow(/AdamW: optimizer got an empty parameter list/);
    opt.dispose();
    lin.dispose();
    x.dispose();
  });
});

describe('bad arguments', () => {
  it('name the constructor and the value', async () => {
    const p = kiln.zeros([2], { requiresGrad: true });
    expect(() => new kiln.optim.SGD([p], { lr: -1 })).toThrow('SGD: invalid learning rate: -1');
    expect(() => new kiln.optim.SGD([p], { lr: 0.1, momentum: -0.5 })).toThrow('SGD: invalid momentum value: -0.5');
    expect(() => new kiln.optim.SGD([p], { lr: 0.1, weightDecay: -1 })).toThrow('SGD: invalid weight_decay value: -1');
    expect(() => kiln.uniform([2], 1, 0)).toThrow('uniform: expects finite low <= high, got low=1, high=0');
    expect(() => kiln.normal([2], 0, -1)).toThrow('normal: expects a finite mean and std >= 0, got mean=0, std=-1');
    expect(() => new kiln.nn.Embedding(0, 4)).toThrow('Embedding: num_embeddings and embedding_dim must be positive integers, got 0, 4');
    await expect(kiln.tuneMatmul({ M: 0, K: 4, N: 4 })).rejects.toThrow('tuneMatmul: M must be a positive integer, got 0');
    p.dispose();
  });
});
