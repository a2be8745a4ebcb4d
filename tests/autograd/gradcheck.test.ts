// Gradients of every differentiable op against central finite differences: full Jacobian checks on tiny
// inputs, random directions on larger ones, broadcast inputs (the walker sums them back), and views.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { gradcheck, type GradInput } from '../helpers/gradcheck.js';
import { values, type Domain } from '../helpers/inputs.js';

const inp = (shape: number[], domain: Domain = 'normal', seed = 1): GradInput => ({
  shape,
  data: values(shape.reduce((a, b) => a * b, 1), seed, domain),
});
/**
 * Values on a grid k/10 + shift in [−2, 2): with shift 0.05 every value is ≥ 0.05 from each multiple of 0.1,
 * where the kinks of relu/abs/clamp and the ties of minimum/maximum (against shift-0 values) are, so
 * no central difference (step ≤ 0.01·|u|) crosses one.
 */
const grid = (shape: number[], seed = 2, shift = 0.05): GradInput => ({
  shape,
  data: values(shape.reduce((a, b) => a * b, 1), seed, 'unit').map((v) => Math.floor(v * 22) / 10 + shift),
});

type Fn = (...xs: Tensor[]) => Tensor;

const UNARY: [string, Fn, InputKind][] = [
  ['neg', (x) => x.neg(), 'normal'],
  ['exp', (x) => x.exp(), 'normal'],
  ['log', (x) => x.log(), 'positive'],
  ['sqrt', (x) => x.sqrt(), 'positive'],
  ['rsqrt', (x) => x.rsqrt(), 'positive'],
  ['abs', (x) => x.abs(), 'away'],
  ['sign', (x) => x.sign().add(x), 'away'],
  ['tanh', (x) => x.tanh(), 'normal'],
  ['sigmoid', (x) => x.sigmoid(), 'normal'],
  ['relu', (x) => x.relu(), 'away'],
  ['gelu', (x) => x.gelu(), 'normal'],
  ['gelu tanh', (x) => x.gelu({ approximate: 'tanh' }), 'normal'],
  ['silu', (x) => x.silu(), 'normal'],
  ['square', (x) => x.square(), 'normal'],
  ['reciprocal', (x) => x.reciprocal(), 'far'],
  ['clamp both', (x) => x.clamp(-0.5, 0.7), 'away'],
  ['clamp min', (x) => x.clamp(0.1), 'away'],
  ['clamp max', (x) => x.clamp(null, -0.1), 'away'],
  ['add scalar', (x) => x.add(2), 'normal'],
  ['rsub scalar', (x) => kiln.sub(2, x), 'normal'],
  ['sub scalar alpha', (x) => x.sub(2, { alpha: 3 }), 'normal'],
  ['mul scalar', (x) => x.mul(-1.5), 'normal'],
  ['div scalar', (x) => x.div(3), 'normal'],
  ['rdiv scalar', (x) => kiln.div(3, x), 'far'],
  ['pow scalar 3', (x) => x.pow(3), 'normal'],
  ['pow scalar 0.5', (x) => x.pow(0.5), 'positive'],
  ['pow scalar 0', (x) => x.pow(0).mul(x), 'normal'],
  ['rpow scalar', (x) => kiln.pow(2, x), 'normal'],
  ['minimum scalar', (x) => kiln.minimum(x, 0.1), 'away'],
  ['maximum scalar', (x) => kiln.maximum(0.1, x), 'away'],
  ['where with scalar arm', (x) => kiln.where(x.gt(0), x.mul(3), 0.5), 'away'],
  ['cast to f32 and back (f32 → f32)', (x) => x.cast('f32').mul(2), 'normal'],
  ['clone', (x) => x.clone().mul(x), 'normal'],
  ['contiguous of a transpose', (x) => x.t().contiguous().mul(2), 'normal'],
];

/** |x| in [0.5, 2] with either sign: keeps 1/x and x/y smooth at the finite-difference step. */
const far = (shape: number[], seed: number): GradInput => ({
  shape,
  data: values(shape.reduce((a, b) => a * b, 1), seed, 'unit').map((v) => Math.sign(v) * (0.5 + (1.5 * Math.abs(v)) / 0.9)),
});

type InputKind = Domain | 'away' | 'tie-free' | 'far';
function input(shape: number[], d: InputKind, seed = 3): GradInput {
  return d === 'away' ? grid(shape, seed) : d === 'tie-free' ? grid(shape, seed, 0) : d === 'far' ? far(shape, seed) : inp(shape, d, seed);
}

describe('unary and scalar ops', () => {
  for (const [name, fn, d] of UNARY) {
    it(`${name}: full on [2,3], directions on [5,40]`, async () => {
      await gradcheck(fn, [input([2, 3], d)], { mode: 'full' });
      await gradcheck(fn, [input([5, 40], d, 5)], { mode: 'directions' });
    });
  }
});

const BINARY: [string, Fn, InputKind, InputKind][] = [
  ['add', (a, b) => a.add(b), 'normal', 'normal'],
  ['add alpha', (a, b) => a.add(b, { alpha: -2 }), 'normal', 'normal'],
  ['sub', (a, b) => a.sub(b), 'normal', 'normal'],
  ['sub alpha', (a, b) => kiln.sub(a, b, { alpha: 0.5 }), 'normal', 'normal'],
  ['mul', (a, b) => a.mul(b), 'normal', 'normal'],
  ['div', (a, b) => a.div(b), 'normal', 'far'],
  ['pow', (a, b) => a.pow(b), 'positive', 'normal'],
  ['minimum', (a, b) => a.minimum(b), 'away', 'tie-free'],
  ['maximum', (a, b) => kiln.maximum(a, b), 'away', 'tie-free'],
  ['where', (a, b) => kiln.where(a.gt(b), a.mul(b), b.exp()), 'away', 'tie-free'],
];

describe('binary ops', () => {
  for (const [name, fn, da, db] of BINARY) {
    it(`${name}: full on equal shapes, full on broadcast [3,1] ⊕ [4], directions on [2,3,40] ⊕ [3,1]`, async () => {
      await gradcheck(fn, [input([2, 3], da, 11), input([2, 3], db, 12)], { mode: 'full' });
      await gradcheck(fn, [input([3, 1], da, 13), input([4], db, 14)], { mode: 'full' });
      await gradcheck(fn, [input([2, 3, 40], da, 15), input([3, 1], db, 16)], { mode: 'directions' });
    });
  }

  it('where with a fixed broadcast mask', async () => {
    const mask = (): Tensor => kiln.tensor([[true], [false], [true]]);
    await gradcheck((a, b) => kiln.where(mask(), a, b), [inp([3, 4], 'normal', 17), inp([4], 'normal', 18)], { mode: 'full' });
  });

  it('the same tensor on both sides (x·x, x/x, x − x)', async () => {
    await gradcheck((x) => x.mul(x), [inp([2, 3])], { mode: 'full' });
    await gradcheck((x) => x.div(x.add(3)), [inp([2, 3], 'positive')], { mode: 'full' });
    await gradcheck((x) => x.sub(x.exp()), [inp([2, 3])], { mode: 'full' });
  });
});

describe('reductions', () => {
  const cases: [string, Fn][] = [
    ['sum all', (x) => x.sum()],
    ['sum axes', (x) => x.sum([0, 2])],
    ['sum keepdim', (x) => x.sum(-1, true).mul(x)],
    ['mean', (x) => x.mean(1)],
    ['mean keepdim', (x) => x.mean([0, 1], true)],
    ['max', (x) => x.max(1)],
    ['max all', (x) => x.max()],
    ['min keepdim', (x) => x.min(-1, true)],
    ['var', (x) => x.var(1)],
    ['var correction 0, keepdim', (x) => x.var([0, 2], { correction: 0, keepdim: true })],
    ['std', (x) => x.std()],
  ];
  for (const [name, fn] of cases) {
    it(`${name}: full on [2,3,4]`, async () => {
      await gradcheck(fn, [inp([2, 3, 4], 'normal', 21)], { mode: 'full' });
    });
  }
  it('reductions of larger and strided inputs (directions)', async () => {
    await gradcheck((x) => x.t().sum(0).mul(x.mean()), [inp([50, 30], 'normal', 22)], { mode: 'directions' });
    await gradcheck((x) => x.permute([2, 0, 1]).var([1, 2]), [inp([6, 5, 7], 'normal', 23)], { mode: 'directions' });
    await gradcheck((x) => x.max(0), [inp([3000, 2], 'normal', 24)], { mode: 'directions' });
  });
  it('max with ties splits the gradient evenly', async () => {
    // finite differences are not defined at a tie, so the rule is checked directly (PyTorch's amax)
    const x = kiln.tensor([[1, 3, 3], [2, 0, 2]], { requiresGrad: true });
    x.max(1).sum().backward();
    expect(Array.from(await x.grad!.data())).toEqual([0, 0.5, 0.5, 0.5, 0, 0.5]);
    x.dispose();
  });
});

describe('views', () => {
  const cases: [string, Fn, number[]][] = [
    ['reshape', (x) => x.reshape([4, 6]).mul(x.reshape([4, 6]).sum(0)), [2, 3, 4]],
    ['reshape of a transpose (copies)', (x) => x.mT.reshape([-1]).mul(2), [2, 3, 4]],
    ['view', (x) => x.view([6, 4]).exp(), [2, 3, 4]],
    ['permute', (x) => x.permute([2, 0, 1]).mul(x.permute([2, 0, 1]).sum(2, true)), [2, 3, 4]],
    ['transpose + mT', (x) => x.transpose(0, 2).mT.tanh(), [2, 3, 4]],
    ['expand', (x) => x.expand([3, 2, 4]).mul(kiln.arange(24).reshape([3, 2, 4]).float()), [2, 1]],
    ['slice with step', (x) => x.slice(2, 1, undefined, 2).exp(), [2, 3, 5]],
    ['slice negative', (x) => x.slice(0, -1).mul(3), [2, 3, 4]],
    ['narrow', (x) => x.narrow(1, 1, 2).sigmoid(), [2, 3, 4]],
    ['select', (x) => x.select(1, -1).square(), [2, 3, 4]],
    ['squeeze/unsqueeze', (x) => x.unsqueeze(1).squeeze(1).unsqueeze(-1).tanh(), [2, 3]],
    ['flatten', (x) => x.flatten(1).exp(), [2, 3, 4]],
    ['chunk', (x) => { const [a, b] = x.chunk(2, 1); return a!.mul(b!); }, [2, 4, 3]],
    ['split', (x) => { const [a, b] = x.split([1, 3], 0); return b!.sum(0).mul(a!.squeeze(0)); }, [4, 3]],
  ];
  for (const [name, fn, shape] of cases) {
    it(`${name}: full on ${JSON.stringify(shape)}`, async () => {
      await gradcheck(fn, [inp(shape, 'normal', 31)], { mode: 'full' });
    });
  }
});

describe('composites and dtypes', () => {
  it('matmul through the elementwise chain (directions)', async () => {
    await gradcheck((a, b) => a.matmul(b).gelu().mul(a.sum(1, true)), [inp([6, 8], 'normal', 41), inp([8, 5], 'normal', 42)], { mode: 'directions' });
  });
  it('a batched input times a broadcast weight (the weight gradient folds the batch into k), plain and transposed', async () => {
    await gradcheck((x, w) => x.matmul(w.mT).tanh(), [inp([2, 3, 5], 'normal', 44), inp([4, 5], 'normal', 45)], { mode: 'full' });
    await gradcheck((x, w) => x.mT.matmul(w).tanh(), [inp([3, 2, 5, 3], 'normal', 46), inp([5, 2], 'normal', 47)], { mode: 'directions' });
  });
  it('a diamond: one input used by several branches that merge', async () => {
    await gradcheck((x) => { const y = x.exp(); return y.mul(x).add(y.sqrt()).sub(x.tanh().mul(y)); }, [inp([2, 3], 'normal', 43)], { mode: 'full' });
  });
  it('through an f16 cast (gradient cast back to f32)', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    await gradcheck((x) => x.half().mul(2).float().add(x), [{ shape: [2, 3], data: [0.5, 1, -2, 0.25, 4, -1] }], { mode: 'full', eps: 0.25, rtol: 1e-3 });
  });
});
