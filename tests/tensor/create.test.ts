// Creation: tensor() from nested/typed arrays, constant fills, arange, eye, and the random generator's
// statistics, determinism and exact replay from its (seed, offset) state.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { philoxNormal, philoxUniform } from '../helpers/reference.js';
import { disposeAfterEach, read } from '../helpers/inputs.js';

const keep = disposeAfterEach();

describe('tensor()', () => {
  it('from nested arrays infers shape; booleans give bool; numbers give f32', async () => {
    const t = keep(kiln.tensor([[[1, 2], [3, 4], [5, 6]]]));
    expect(t.shape).toEqual([1, 3, 2]);
    expect(t.dtype).toBe('f32');
    expect(await t.toArray()).toEqual([[[1, 2], [3, 4], [5, 6]]]);
    const b = keep(kiln.tensor([true, false, true]));
    expect(b.dtype).toBe('bool');
    expect(Array.from(await b.data())).toEqual([1, 0, 1]);
    const s = keep(kiln.tensor(7.5));
    expect(s.shape).toEqual([]);
    expect(await s.item()).toBe(7.5);
    const e = keep(kiln.tensor([]));
    expect(e.shape).toEqual([0]);
    expect((await e.data()).length).toBe(0);
  });

  it('from typed arrays: dtype from the array type, shape option, explicit dtype', async () => {
    const i = keep(kiln.tensor(new Int32Array([1, -2, 3, 4, 5, 6]), { shape: [2, 3] }));
    expect(i.dtype).toBe('i32');
    expect(await i.toArray()).toEqual([[1, -2, 3], [4, 5, 6]]);
    const u = keep(kiln.tensor(new Uint8Array([1, 255])));
    expect(u.dtype).toBe('u32');
    expect(Array.from(await u.data())).toEqual([1, 255]);
    const f = keep(kiln.tensor(new Float64Array([0.1, 1e-3])));
    expect(f.dtype).toBe('f32');
    expect(Array.from(await f.data())).toEqual([Math.fround(0.1), Math.fround(1e-3)]);
    const fi = keep(kiln.tensor([1.9, -1.9, 3], { dtype: 'i32' }));
    expect(Array.from(await fi.data())).toEqual([1, -1, 3]);
    const fl = keep(kiln.tensor([[1, 2], [3, 4]], { shape: [4] }));
    expect(fl.shape).toEqual([4]);
    const r = keep(kiln.tensor([1, 2], { requiresGrad: true }));
    expect(r.requiresGrad && r.isLeaf).toBe(true);
  });
});

describe('constant fills, arange, eye', () => {
  it('zeros, ones, full, zerosLike, onesLike for each dtype', async () => {
    for (const dtype of ['f32', 'f16', 'i32', 'u32', 'bool'] as const) {
      if (dtype === 'f16' && !kiln.deviceInfo().features.includes('shader-f16')) continue;
      const z = keep(kiln.zeros([2, 65], { dtype }));
      const o = keep(kiln.ones([3], { dtype }));
      expect(z.dtype).toBe(dtype);
      expect((await z.data()).every((v) => v === 0)).toBe(true);
      expect(Array.from(await o.data())).toEqual([1, 1, 1]);
      expect(Array.from(await keep(kiln.zerosLike(o)).data())).toEqual([0, 0, 0]);
      expect(keep(kiln.onesLike(z)).shape).toEqual([2, 65]);
    }
    expect(Array.from(await keep(kiln.full([2, 2], -3.5)).data())).toEqual([-3.5, -3.5, -3.5, -3.5]);
    expect(Array.from(await keep(kiln.full([2], 7, { dtype: 'i32' })).data())).toEqual([7, 7]);
    expect(keep(kiln.zeros([0, 3])).numel()).toBe(0);
  });

  it('arange: int and float, start/end/step, negative step', async () => {
    const a = keep(kiln.arange(5));
    expect(a.dtype).toBe('i32');
    expect(Array.from(await a.data())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(await keep(kiln.arange(2, 11, 3)).data())).toEqual([2, 5, 8]);
    expect(Array.from(await keep(kiln.arange(5, 0, -2)).data())).toEqual([5, 3, 1]);
    const f = keep(kiln.arange(0, 1, 0.25));
    expect(f.dtype).toBe('f32');
    expect(Array.from(await f.data())).toEqual([0, 0.25, 0.5, 0.75]);
    const g = keep(kiln.arange(0.5, 2));
    expect(Array.from(await g.data())).toEqual([0.5, 1.5]);
    const d = keep(kiln.arange(3, undefined, 1, { dtype: 'f32' }));
    expect(d.dtype).toBe('f32');
    expect(keep(kiln.arange(0)).shape).toEqual([0]);
  });

  it('eye: square and non-square', async () => {
    expect(await keep(kiln.eye(3)).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(await keep(kiln.eye(2, 4)).toArray()).toEqual([[1, 0, 0, 0], [0, 1, 0, 0]]);
    expect(await keep(kiln.eye(4, 2)).toArray()).toEqual([[1, 0], [0, 1], [0, 0], [0, 0]]);
    const i = keep(kiln.eye(2, 3, { dtype: 'i32' }));
    expect(i.dtype).toBe('i32');
    expect(await i.toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
  });
});

describe('random', () => {
  it('rand: uniform [0, 1) statistics over 1e5 samples', async () => {
    kiln.manualSeed(1);
    const u = await read(keep(kiln.rand([100_000])));
    let m = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of u) {
      m += v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    m /= u.length;
    let v2 = 0;
    for (const v of u) v2 += (v - m) ** 2;
    v2 /= u.length;
    // standard errors: mean 0.0009, var 0.0003 (4.5 sigma bounds)
    expect(Math.abs(m - 0.5)).toBeLessThan(0.0041);
    expect(Math.abs(v2 - 1 / 12)).toBeLessThan(0.0013);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // each decile holds about a tenth
    const bins = new Array<number>(10).fill(0);
    for (const v of u) bins[Math.floor(v * 10)]! += 1;
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(450);
  });

  it('randn, uniform, normal: mean and variance over 1e5 samples', async () => {
    kiln.manualSeed(2);
    const stats = (x: Float64Array): [number, number] => {
      let m = 0;
      for (const v of x) m += v;
      m /= x.length;
      let s = 0;
      for (const v of x) s += (v - m) ** 2;
      return [m, s / x.length];
    };
    const [m, v] = stats(await read(keep(kiln.randn([100_000]))));
    expect(Math.abs(m)).toBeLessThan(0.015);
    expect(Math.abs(v - 1)).toBeLessThan(0.02);
    const [mn, vn] = stats(await read(keep(kiln.normal([250, 400], 3, 0.5))));
    expect(Math.abs(mn - 3)).toBeLessThan(0.0075);
    expect(Math.abs(vn - 0.25)).toBeLessThan(0.005);
    const un = await read(keep(kiln.uniform([100_000], -2, 6)));
    const [mu, vu] = stats(un);
    expect(Math.abs(mu - 2)).toBeLessThan(0.035);
    expect(Math.abs(vu - 64 / 12)).toBeLessThan(0.1);
    expect(un.every((x) => x >= -2 && x < 6)).toBe(true);
  });

  it('manualSeed makes draws deterministic; different seeds differ', async () => {
    kiln.manualSeed(42);
    const a = await read(keep(kiln.rand([1000])));
    const an = await read(keep(kiln.randn([333])));
    kiln.manualSeed(42);
    expect(await read(keep(kiln.rand([1000])))).toEqual(a);
    expect(await read(keep(kiln.randn([333])))).toEqual(an);
    kiln.manualSeed(43);
    expect(await read(keep(kiln.rand([1000])))).not.toEqual(a);
  });

  it('getRngState / setRngState replays exactly', async () => {
    kiln.manualSeed(7);
    keep(kiln.rand([10]));
    const s = kiln.getRngState();
    const a = await read(keep(kiln.randn([3, 17])));
    const b = await read(keep(kiln.rand([5])));
    keep(kiln.rand([100]));
    kiln.setRngState(s);
    expect(await read(keep(kiln.randn([3, 17])))).toEqual(a);
    expect(await read(keep(kiln.rand([5])))).toEqual(b);
    expect(kiln.getRngState()).not.toEqual(s);
  });

  it('values do not depend on how a draw is split into calls (whole Philox blocks)', async () => {
    kiln.manualSeed(9);
    const whole = await read(keep(kiln.rand([64])));
    kiln.manualSeed(9);
    const parts = [...(await read(keep(kiln.rand([8])))), ...(await read(keep(kiln.rand([4, 6])))), ...(await read(keep(kiln.rand([32]))))];
    expect(Float64Array.from(parts)).toEqual(whole);
    kiln.manualSeed(9);
    const wn = await read(keep(kiln.randn([10])));
    kiln.manualSeed(9);
    const pn = [...(await read(keep(kiln.randn([4])))), ...(await read(keep(kiln.randn([6]))))];
    expect(Float64Array.from(pn)).toEqual(wn);
    // the generator's position advances by whole blocks: 4 uniforms or 2 normals per block
    kiln.manualSeed(9);
    keep(kiln.rand([5]));
    expect(kiln.getRngState()).toEqual({ seed: 9, offset: 2 });
    keep(kiln.randn([5]));
    expect(kiln.getRngState()).toEqual({ seed: 9, offset: 5 });
  });

  it('rand reproduces the Philox4x32-10 reference bit for bit (seeds past 2^32, offsets past 2^32)', async () => {
    for (const [seed, offset, n] of [
      [0, 0, 37],
      [123456789, 5, 1000],
      [2 ** 40 + 12345, 2 ** 32 - 3, 64],
    ] as const) {
      kiln.setRngState({ seed, offset });
      const got = await read(keep(kiln.rand([n])));
      expect(got, `seed ${seed} offset ${offset}`).toEqual(philoxUniform(seed, offset, n));
    }
  });

  it('randn matches Box–Muller over the reference Philox words', async () => {
    kiln.setRngState({ seed: 31337, offset: 11 });
    const got = await read(keep(kiln.randn([999])));
    expect(got).toBeAllClose(philoxNormal(31337, 11, 999), { rtol: 2e-6 });
  });

  it('f16 draws', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    kiln.manualSeed(3);
    const h = keep(kiln.rand([1000], { dtype: 'f16' }));
    expect(h.dtype).toBe('f16');
    const v = await read(h);
    expect(v.every((x) => x >= 0 && x <= 1)).toBe(true);
    const r = keep(kiln.randn([4], { dtype: 'f16', requiresGrad: true }));
    expect(r.requiresGrad).toBe(true);
  });
});
