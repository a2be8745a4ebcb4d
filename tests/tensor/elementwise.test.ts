// Elementwise ops against the float64 reference: every unary, binary and scalar form, clamp, where and the
// comparisons, over sizes that straddle workgroup edges, 2-D/3-D shapes, broadcasting, strided views, and
// the in-place forms (including writes into non-contiguous views).
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { ND, erf, gelu, geluTanh, sigmoid, type Shape } from '../helpers/reference.js';
import { disposeAfterEach, pair, read, type Domain, type Pair } from '../helpers/inputs.js';

const SHAPES: Shape[] = [[1], [7], [33], [130], [4, 5], [2, 3, 4]];

/** Strided views of fresh data, each with the reference view that reads the same elements. */
const VIEWS: Record<string, (seed: number, domain: Domain) => Pair> = {
  mT: (s, d) => {
    const p = pair([2, 3, 5], s, d);
    return { t: p.t.mT, ref: p.ref.transpose(-2, -1) };
  },
  permute: (s, d) => {
    const p = pair([4, 3, 5], s, d);
    return { t: p.t.permute([2, 0, 1]), ref: p.ref.permute([2, 0, 1]) };
  },
  'slice with step': (s, d) => {
    const p = pair([6, 9], s, d);
    return { t: p.t.slice(1, 1, undefined, 2).slice(0, -5, 6, 3), ref: p.ref.slice(1, 1, undefined, 2).slice(0, -5, 6, 3) };
  },
  expand: (s, d) => {
    const p = pair([3, 1], s, d);
    return { t: p.t.expand([2, 3, 5]), ref: p.ref.expand([2, 3, 5]) };
  },
};

interface UnaryCase {
  readonly run: (x: Tensor) => Tensor;
  readonly ref: (x: number) => number;
  readonly domain: Domain;
  readonly rtol: number;
}

const UNARY: Record<string, UnaryCase> = {
  neg: { run: (x) => x.neg(), ref: (x) => -x, domain: 'normal', rtol: 0 },
  exp: { run: (x) => x.exp(), ref: Math.exp, domain: 'normal', rtol: 1e-5 },
  log: { run: (x) => x.log(), ref: Math.log, domain: 'positive', rtol: 1e-5 },
  sqrt: { run: (x) => x.sqrt(), ref: Math.sqrt, domain: 'positive', rtol: 1e-6 },
  rsqrt: { run: (x) => x.rsqrt(), ref: (x) => 1 / Math.sqrt(x), domain: 'positive', rtol: 1e-5 },
  abs: { run: (x) => x.abs(), ref: Math.abs, domain: 'normal', rtol: 0 },
  sign: { run: (x) => x.sign(), ref: Math.sign, domain: 'int', rtol: 0 },
  tanh: { run: (x) => x.tanh(), ref: Math.tanh, domain: 'normal', rtol: 1e-5 },
  sigmoid: { run: (x) => x.sigmoid(), ref: sigmoid, domain: 'normal', rtol: 1e-5 },
  relu: { run: (x) => x.relu(), ref: (x) => Math.max(x, 0), domain: 'normal', rtol: 0 },
  // erf is a rational approximation (~1.2e-7 absolute): gelu is held to ~1e-6 absolute, norm-wise
  gelu: { run: (x) => x.gelu(), ref: gelu, domain: 'normal', rtol: 2e-6 },
  'gelu tanh': { run: (x) => x.gelu({ approximate: 'tanh' }), ref: geluTanh, domain: 'normal', rtol: 1e-5 },
  silu: { run: (x) => x.silu(), ref: (x) => x * sigmoid(x), domain: 'normal', rtol: 1e-5 },
};

const keep = disposeAfterEach();

async function expectClose(t: Tensor, ref: ND, rtol: number): Promise<void> {
  expect(t.shape).toEqual(ref.shape);
  expect(await read(t)).toBeAllClose(ref.values(), { rtol: Math.max(rtol, 1e-12) });
}

describe('unary ops', () => {
  for (const [name, c] of Object.entries(UNARY)) {
    it(`${name} over sizes and shapes (rtol ${c.rtol})`, async () => {
      let seed = 1;
      for (const shape of SHAPES) {
        const x = pair(shape, seed++, c.domain);
        await expectClose(keep(c.run(keep(x.t))), x.ref.map(c.ref), c.rtol);
      }
    });
    it(`${name} of strided views`, async () => {
      let seed = 100;
      for (const [view, make] of Object.entries(VIEWS)) {
        const x = make(seed++, c.domain);
        expect(x.t.isContiguous(), view).toBe(false);
        await expectClose(keep(c.run(keep(x.t))), x.ref.map(c.ref), c.rtol);
      }
    });
  }

  it('kiln_erf stays within 2e-7 of erf over [-6, 6] (through gelu)', async () => {
    const xs = Array.from({ length: 241 }, (_, i) => -6 + i * 0.05);
    const x = keep(kiln.tensor(xs));
    const got = await read(keep(x.gelu()));
    const ref = Float32Array.from(xs).map((v) => gelu(v));
    let worst = 0;
    got.forEach((g, i) => (worst = Math.max(worst, Math.abs(g - ref[i]!))));
    expect(worst).toBeLessThan(1e-6);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(3)).toBeCloseTo(0.9999779095030014, 15);
  });

  it('tanh, sigmoid and silu stay finite for large |x|', async () => {
    const x = keep(kiln.tensor([-100, -30, 30, 100]));
    expect(Array.from(await read(keep(x.tanh())))).toEqual([-1, -1, 1, 1]);
    expect(await read(keep(x.sigmoid()))).toBeAllClose([0, sigmoid(-30), sigmoid(30), 1], { rtol: 1e-6 });
    expect(await read(keep(x.silu()))).toBeAllClose([-0, -30 * sigmoid(-30), 30 * sigmoid(30), 100], { rtol: 1e-6 });
  });
});

interface BinaryCase {
  readonly run: (a: Tensor, b: Tensor) => Tensor;
  readonly ref: (a: number, b: number) => number;
  readonly da: Domain;
  readonly db: Domain;
  readonly rtol: number;
}

const BINARY: Record<string, BinaryCase> = {
  add: { run: (a, b) => a.add(b), ref: (a, b) => a + b, da: 'normal', db: 'normal', rtol: 1e-6 },
  'add alpha': { run: (a, b) => a.add(b, { alpha: 2.5 }), ref: (a, b) => a + 2.5 * b, da: 'normal', db: 'normal', rtol: 1e-6 },
  sub: { run: (a, b) => a.sub(b), ref: (a, b) => a - b, da: 'normal', db: 'normal', rtol: 1e-6 },
  'sub alpha': { run: (a, b) => kiln.sub(a, b, { alpha: -3 }), ref: (a, b) => a + 3 * b, da: 'normal', db: 'normal', rtol: 1e-6 },
  mul: { run: (a, b) => a.mul(b), ref: (a, b) => a * b, da: 'normal', db: 'normal', rtol: 1e-6 },
  div: { run: (a, b) => a.div(b), ref: (a, b) => a / b, da: 'normal', db: 'positive', rtol: 1e-6 },
  pow: { run: (a, b) => a.pow(b), ref: Math.pow, da: 'positive', db: 'normal', rtol: 1e-5 },
  'pow of negative bases, integral exponents': { run: (a, b) => kiln.pow(a, b), ref: Math.pow, da: 'normal', db: 'int', rtol: 1e-5 },
  minimum: { run: (a, b) => a.minimum(b), ref: Math.min, da: 'normal', db: 'normal', rtol: 0 },
  maximum: { run: (a, b) => kiln.maximum(a, b), ref: Math.max, da: 'normal', db: 'normal', rtol: 0 },
};

/** Shape pairs: equal shapes at each size, then NumPy broadcasting. */
const BINARY_SHAPES: [Shape, Shape][] = [
  [[1], [1]],
  [[7], [7]],
  [[33], [33]],
  [[130], [130]],
  [[2, 3, 4], [2, 3, 4]],
  [[3, 1, 5], [4, 1]],
  [[4, 1], [3, 1, 5]],
  [[5], [2, 3, 5]],
  [[2, 1, 4], [1]],
  [[], [3, 2]],
];

describe('binary ops', () => {
  for (const [name, c] of Object.entries(BINARY)) {
    it(`${name}: equal shapes, broadcasting, strided views (rtol ${c.rtol})`, async () => {
      let seed = 7;
      for (const [sa, sb] of BINARY_SHAPES) {
        const a = pair(sa, seed++, c.da);
        const b = pair(sb, seed++, c.db);
        await expectClose(keep(c.run(keep(a.t), keep(b.t))), ND.zip(c.ref, a.ref, b.ref), c.rtol);
      }
      const a = VIEWS['mT']!(seed++, c.da);
      const b = VIEWS['slice with step']!(seed++, c.db);
      const bt = keep(b.t).slice(1, 0, 3).unsqueeze(1); // [2, 1, 3] read through strides
      await expectClose(keep(c.run(keep(a.t), keep(bt))), ND.zip(c.ref, a.ref, b.ref.slice(1, 0, 3).reshape([2, 1, 3])), c.rtol);
      const e = VIEWS['expand']!(seed++, c.da);
      const p = VIEWS['permute']!(seed++, c.db);
      const pe = keep(keep(p.t).slice(0, 0, 2).slice(1, 0, 3)); // [2, 3, 3]
      const eRef = e.ref.slice(2, 0, 3);
      await expectClose(keep(c.run(keep(keep(e.t).slice(2, 0, 3)), pe)), ND.zip(c.ref, eRef, p.ref.slice(0, 0, 2).slice(1, 0, 3)), c.rtol);
    });
  }

  it('minimum, maximum, clamp and relu propagate NaN (as PyTorch)', async () => {
    const a = keep(kiln.tensor([NaN, 1, 2]));
    const b = keep(kiln.tensor([0, NaN, 3]));
    const mn = await read(keep(a.minimum(b)));
    const mx = await read(keep(a.maximum(b)));
    expect(Number.isNaN(mn[0]!) && Number.isNaN(mn[1]!) && mn[2] === 2).toBe(true);
    expect(Number.isNaN(mx[0]!) && Number.isNaN(mx[1]!) && mx[2] === 3).toBe(true);
    const cl = await read(keep(a.clamp(0, 1)));
    expect(Number.isNaN(cl[0]!) && cl[1] === 1 && cl[2] === 1).toBe(true);
    expect(Number.isNaN((await read(keep(a.relu())))[0]!)).toBe(true);
  });
});

describe('scalar forms', () => {
  const x = (): Pair => pair([3, 11], 21, 'positive');
  const cases: [string, (t: Tensor) => Tensor, (v: number) => number, number][] = [
    ['x.add(2)', (t) => t.add(2), (v) => v + 2, 1e-6],
    ['kiln.add(2, x)', (t) => kiln.add(2, t), (v) => v + 2, 1e-6],
    ['x.add(2, alpha 0.5)', (t) => t.add(2, { alpha: 0.5 }), (v) => v + 1, 1e-6],
    ['x.sub(2)', (t) => t.sub(2), (v) => v - 2, 1e-6],
    ['kiln.sub(2, x)', (t) => kiln.sub(2, t), (v) => 2 - v, 1e-6],
    ['kiln.sub(2, x, alpha 3)', (t) => kiln.sub(2, t, { alpha: 3 }), (v) => 2 - 3 * v, 1e-6],
    ['x.mul(3)', (t) => t.mul(3), (v) => v * 3, 1e-6],
    ['kiln.mul(3, x)', (t) => kiln.mul(3, t), (v) => v * 3, 1e-6],
    ['x.div(3)', (t) => t.div(3), (v) => v / 3, 1e-6],
    ['kiln.div(3, x)', (t) => kiln.div(3, t), (v) => 3 / v, 1e-6],
    ['x.pow(2)', (t) => t.pow(2), (v) => v * v, 1e-6],
    ['x.pow(0.5)', (t) => t.pow(0.5), Math.sqrt, 1e-6],
    ['x.pow(-1.5)', (t) => t.pow(-1.5), (v) => v ** -1.5, 1e-5],
    ['x.pow(0)', (t) => t.pow(0), () => 1, 0],
    ['kiln.pow(2, x)', (t) => kiln.pow(2, t), (v) => 2 ** v, 1e-5],
    ['kiln.minimum(x, 1)', (t) => kiln.minimum(t, 1), (v) => Math.min(v, 1), 0],
    ['kiln.maximum(1, x)', (t) => kiln.maximum(1, t), (v) => Math.max(v, 1), 0],
    ['x.square()', (t) => t.square(), (v) => v * v, 1e-6],
    ['x.reciprocal()', (t) => t.reciprocal(), (v) => 1 / v, 1e-6],
  ];
  for (const [name, run, ref, rtol] of cases) {
    it(name, async () => {
      const p = x();
      await expectClose(keep(run(keep(p.t))), p.ref.map(ref), rtol);
      const v = VIEWS['mT']!(5, 'positive');
      await expectClose(keep(run(keep(v.t))), v.ref.map(ref), rtol);
    });
  }

  it('pow of negative bases with a scalar exponent follows C pow', async () => {
    const t = keep(kiln.tensor([-2, -1.5, 0, 3]));
    expect(await read(keep(t.pow(3)))).toBeAllClose([-8, -3.375, 0, 27], { rtol: 1e-6 });
    expect(await read(keep(t.pow(2)))).toBeAllClose([4, 2.25, 0, 9], { rtol: 1e-6 });
    const h = await read(keep(t.pow(0.5)));
    expect(Number.isNaN(h[0]!) && Number.isNaN(h[1]!)).toBe(true);
    expect(await read(keep(kiln.pow(-2, keep(kiln.tensor([0, 1, 2, 3])))))).toBeAllClose([1, -2, 4, -8], { rtol: 1e-6 });
  });
});

describe('layouts the kernel must index', () => {
  it('7-D permuted views none of whose axes coalesce', async () => {
    const p = pair([2, 3, 2, 3, 2, 3, 2], 90);
    const dims = [6, 4, 2, 0, 5, 3, 1];
    const t = keep(keep(p.t).permute(dims)); // [2,2,2,2,3,3,3]
    const rev = [6, 5, 4, 3, 2, 1, 0];
    const q = pair([3, 3, 3, 2, 2, 2, 2], 91);
    const u = keep(keep(q.t).permute(rev));
    const ur = q.ref.permute(rev);
    await expectClose(keep(t.mul(u)), ND.zip((a, b) => a * b, p.ref.permute(dims), ur), 1e-6);
    await expectClose(keep(keep(t.exp()).sum([0, 3, 6])), p.ref.permute(dims).map(Math.exp).sum([0, 3, 6]), 1e-5);
  });

  it('rows of whole vec4s at their own row strides (a bias broadcast over rows, a column window)', async () => {
    const x = pair([5, 7, 12], 92);
    const b = pair([12], 93);
    const w = pair([35, 20], 94);
    await expectClose(keep(keep(x.t).add(keep(b.t))), ND.zip((p, q) => p + q, x.ref, b.ref.reshape([1, 1, 12]).expand([5, 7, 12])), 1e-6);
    const win = keep(keep(w.t).slice(1, 4, 16)); // [35, 12] at row stride 20, offset 4
    const winRef = w.ref.slice(1, 4, 16);
    await expectClose(keep(win.mul(keep(x.t.reshape([35, 12])))), ND.zip((p, q) => p * q, winRef, x.ref.reshape([35, 12])), 1e-6);
  });

  it('more elements than one row of workgroups (2-D dispatch grid, n > 65535·256)', async () => {
    const n = 65535 * 256 + 1000; // 16777960 = 2097245 · 8
    const a = keep(kiln.full([n / 8, 8], 0.5));
    const b = keep(a.add(keep(kiln.arange(8, undefined, 1, { dtype: 'f32' }))));
    const tail = await read(keep(b.slice(0, -2).flatten()));
    expect(Array.from(tail)).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
    expect(await keep(b.sum()).item()).toBeCloseTo((n / 8) * 32, -2);
  });
});

describe('clamp', () => {
  it('min only, max only, both; over shapes and a strided view', async () => {
    let seed = 40;
    for (const shape of [[7], [130], [2, 3, 4]] as Shape[]) {
      const p = pair(shape, seed++);
      await expectClose(keep(p.t.clamp(-0.5)), p.ref.map((v) => Math.max(v, -0.5)), 0);
      const hi = Math.fround(0.3);
      await expectClose(keep(p.t.clamp(null, 0.3)), p.ref.map((v) => Math.min(v, hi)), 0);
      await expectClose(keep(kiln.clamp(p.t, -0.5, 0.3)), p.ref.map((v) => Math.min(Math.max(v, -0.5), hi)), 0);
      keep(p.t);
    }
    const v = VIEWS['permute']!(seed, 'normal');
    await expectClose(keep(v.t.clamp(-1, 1)), v.ref.map((x) => Math.min(Math.max(x, -1), 1)), 0);
    keep(v.t);
  });

  it('clamp of integer tensors stays integer', async () => {
    const t = keep(kiln.tensor(new Int32Array([-7, -1, 0, 3, 9])));
    const c = keep(t.clamp(-2, 4));
    expect(c.dtype).toBe('i32');
    expect(Array.from(await c.data())).toEqual([-2, -1, 0, 3, 4]);
    const f = keep(t.clamp(-2.5));
    expect(f.dtype).toBe('f32');
    expect(Array.from(await f.data())).toEqual([-2.5, -1, 0, 3, 9]);
  });
});

describe('where', () => {
  it('tensor and scalar arms, broadcasting all three', async () => {
    const a = pair([3, 1, 5], 50);
    const b = pair([4, 1], 51);
    const cnd = pair([4, 5], 52);
    const cond = keep(cnd.t.gt(0));
    expect(cond.dtype).toBe('bool');
    const condRef = cnd.ref.map((v) => (v > 0 ? 1 : 0));
    const sel = (c: number, x: number, y: number): number => (c ? x : y);
    await expectClose(keep(kiln.where(cond, keep(a.t), keep(b.t))), ND.zip(sel, condRef, a.ref, b.ref), 0);
    await expectClose(keep(kiln.where(cond, a.t, 2.5)), ND.zip(sel, condRef, a.ref, ND.of([2.5], [])), 0);
    await expectClose(keep(kiln.where(cond, -1, b.t)), ND.zip(sel, condRef, ND.of([-1], []), b.ref), 0);
    await expectClose(keep(b.t.where(cond, 0)), ND.zip(sel, condRef, b.ref, ND.of([0], [])), 0);
    const d0 = kiln.stats().dispatches;
    keep(cnd.t.neg()); // one elementwise op (plus the test setup's poisoning of its output)
    const d1 = kiln.stats().dispatches;
    const both = keep(kiln.where(cond, 1, 0));
    expect(kiln.stats().dispatches - d1).toBe(d1 - d0); // the numbers are uniforms, not 0-d tensors filled first
    await expectClose(both, condRef, 0);
    expect(Array.from(await read(keep(kiln.where(cond, -Infinity, 0))))).toEqual(Array.from(condRef.values(), (c) => (c ? -Infinity : 0)));
    const v = VIEWS['mT']!(53, 'normal'); // [2, 5, 3]
    await expectClose(keep(kiln.where(keep(keep(v.t).lt(0)), v.t, 0)), v.ref.map((x) => (x < 0 ? x : 0)), 0);
  });
});

describe('comparisons', () => {
  const ops: [string, (a: Tensor, b: Tensor | number) => Tensor, (a: number, b: number) => boolean][] = [
    ['eq', (a, b) => a.eq(b), (a, b) => a === b],
    ['ne', (a, b) => a.ne(b), (a, b) => a !== b],
    ['lt', (a, b) => a.lt(b), (a, b) => a < b],
    ['le', (a, b) => kiln.le(a, b), (a, b) => a <= b],
    ['gt', (a, b) => a.gt(b), (a, b) => a > b],
    ['ge', (a, b) => a.ge(b), (a, b) => a >= b],
  ];
  for (const [name, run, ref] of ops) {
    it(`${name} gives bool, with tensors, broadcasting, scalars and views`, async () => {
      const a = pair([3, 1, 5], 60, 'int');
      const b = pair([4, 1], 61, 'int');
      const r = keep(run(keep(a.t), keep(b.t)));
      expect(r.dtype).toBe('bool');
      expect(r.requiresGrad).toBe(false);
      expect((await r.data()) instanceof Uint32Array).toBe(true);
      await expectClose(r, ND.zip((x, y) => (ref(x, y) ? 1 : 0), a.ref, b.ref), 0);
      await expectClose(keep(run(a.t, 1)), a.ref.map((x) => (ref(x, 1) ? 1 : 0)), 0);
      await expectClose(keep(run(a.t, 0.5)), a.ref.map((x) => (ref(x, 0.5) ? 1 : 0)), 0);
      const v = VIEWS['slice with step']!(62, 'int');
      await expectClose(keep(run(keep(v.t), 0)), v.ref.map((x) => (ref(x, 0) ? 1 : 0)), 0);
      const ai = keep(a.t.cast('i32'));
      await expectClose(keep(run(ai, 0.5)), a.ref.map((x) => (ref(x, 0.5) ? 1 : 0)), 0);
    });
  }
});

describe('in-place forms', () => {
  it('add_, sub_, mul_, div_ (tensor, broadcast and scalar operands)', async () => {
    const a = pair([3, 4], 70);
    const b = pair([4], 71, 'positive');
    const t = keep(a.t);
    let ref = a.ref;
    expect(t.add_(keep(b.t))).toBe(t);
    ref = ND.zip((x, y) => x + y, ref, b.ref);
    t.sub_(b.t, { alpha: 2 });
    ref = ND.zip((x, y) => x - 2 * y, ref, b.ref);
    t.mul_(b.t);
    ref = ND.zip((x, y) => x * y, ref, b.ref);
    t.div_(b.t);
    ref = ND.zip((x, y) => x / y, ref, b.ref);
    t.add_(1.5).mul_(2).sub_(0.25).div_(4);
    ref = ref.map((x) => ((x + 1.5) * 2 - 0.25) / 4);
    await expectClose(t, ref, 1e-6);
  });

  it('clamp_, zero_, fill_, copy_', async () => {
    const a = pair([2, 3, 4], 72);
    const t = keep(a.t);
    t.clamp_(-0.5, 0.5);
    await expectClose(t, a.ref.map((x) => Math.min(Math.max(x, -0.5), 0.5)), 0);
    t.clamp_(0);
    await expectClose(t, a.ref.map((x) => Math.min(Math.max(x, 0), 0.5)), 0);
    t.fill_(3.25);
    await expectClose(t, ND.filled([2, 3, 4], 3.25), 0);
    t.zero_();
    await expectClose(t, ND.filled([2, 3, 4], 0), 0);
    const src = pair([3, 1], 73);
    t.copy_(keep(src.t));
    await expectClose(t, src.ref.expand([2, 3, 4]), 0);
    const ints = keep(kiln.tensor(new Int32Array([1, 2, 3, 4])));
    const f = keep(kiln.zeros([4]));
    f.copy_(ints);
    expect(Array.from(await f.data())).toEqual([1, 2, 3, 4]);
    const fi = keep(kiln.zeros([4], { dtype: 'i32' }));
    fi.copy_(keep(kiln.tensor([1.7, -2.7, 3, 0])));
    expect(Array.from(await fi.data())).toEqual([1, -2, 3, 0]);
  });

  it('writes through non-contiguous views change only the viewed elements of the base', async () => {
    const a = pair([4, 6], 74);
    const base = keep(a.t);
    const ref = new ND(a.ref.values(), [4, 6]);
    // every other column of rows 1..3
    const v = keep(base.slice(0, 1).slice(1, 0, undefined, 2));
    const rv = ref.slice(0, 1).slice(1, 0, undefined, 2);
    const o = pair([3, 3], 75);
    v.add_(keep(o.t));
    for (let i = 0; i < rv.size; i++) rv.set(i, rv.get(i) + o.ref.get(i));
    await expectClose(base, ref, 1e-6);
    v.mul_(-2);
    for (let i = 0; i < rv.size; i++) rv.set(i, rv.get(i) * -2);
    await expectClose(base, ref, 1e-6);
    // a transposed view
    const tv = keep(base.mT);
    const rt = ref.transpose(0, 1);
    const o2 = pair([6, 4], 76);
    tv.sub_(keep(o2.t)).clamp_(-1, 1);
    for (let i = 0; i < rt.size; i++) rt.set(i, Math.min(Math.max(rt.get(i) - o2.ref.get(i), -1), 1));
    await expectClose(base, ref, 1e-6);
    tv.div_(4);
    for (let i = 0; i < rt.size; i++) rt.set(i, rt.get(i) / 4);
    await expectClose(base, ref, 1e-6);
    // fill_, zero_ and copy_ into a strided view
    const col = keep(base.select(1, 2));
    col.fill_(9);
    for (let i = 0; i < 4; i++) ref.data[i * 6 + 2] = 9;
    await expectClose(base, ref, 1e-6);
    keep(base.slice(1, 4)).zero_();
    for (let i = 0; i < 4; i++) ref.data[i * 6 + 4] = ref.data[i * 6 + 5] = 0;
    await expectClose(base, ref, 1e-6);
    const src = pair([2, 3], 77);
    keep(base.slice(0, 0, 2).slice(1, 0, 6, 2)).copy_(src.t);
    keep(src.t);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) ref.data[i * 6 + 2 * j] = src.ref.at(i, j);
    await expectClose(base, ref, 1e-6);
  });

  it('copy_ from an overlapping layout of the same storage (x.copy_(x.t()))', async () => {
    const a = pair([5, 5], 78);
    const t = keep(a.t);
    t.copy_(keep(t.t()));
    await expectClose(t, a.ref.transpose(0, 1), 0);
  });

  it('in-place writes into an expanded view (several elements on one location) are refused', () => {
    const x = keep(kiln.tensor([[1], [2], [3]]));
    const e = keep(x.expand([3, 500]));
    expect(() => e.add_(1)).toThrow(/add_: unsupported operation: more than one element of the written-to tensor \[3,500\] \(strides \[1,0\]\)/);
    expect(() => e.fill_(1)).toThrow(/fill_: unsupported operation/);
    expect(() => e.copy_(keep(kiln.zeros([3, 500])))).toThrow(/copy_: unsupported operation/);
    // a size-1 axis with stride 0 is not an overlap
    const one = keep(kiln.zeros([3]).unsqueeze(0));
    keep(one);
    expect(() => keep(one.expand([1, 3])).add_(1)).not.toThrow();
  });

  it('in-place forms refuse shapes they cannot write and float results into integer tensors', () => {
    const t = keep(kiln.zeros([3]));
    expect(() => t.add_(keep(kiln.ones([2, 3])))).toThrow(/add_.*\[3\].*\[2,3\]/);
    const i = keep(kiln.zeros([3], { dtype: 'i32' }));
    expect(() => i.add_(1.5)).toThrow(/add.*result type f32 can't be cast to the desired output type i32/);
    expect(() => i.div_(2)).toThrow(/f32.*i32/);
  });
});
