// Reductions against the float64 reference: sum, mean, max, min, argmax, argmin and var over any set of axes
// (negative too), with and without keepdim, full reductions, strided inputs, rows long enough to take the
// two-pass path, NaN and tie behaviour, integer dtypes, and bit-exact determinism.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { ND } from '../helpers/reference.js';
import { disposeAfterEach, pair, read, type Pair } from '../helpers/inputs.js';

const keep = disposeAfterEach();

type Axes = number | number[] | undefined;
const AXES: Axes[] = [undefined, 0, 1, 2, -1, -2, [0, 2], [-1, 0], [0, 1, 2], [1, 2]];

interface Case {
  readonly run: (x: Tensor, axes: Axes, keepdim: boolean) => Tensor;
  readonly ref: (x: ND, axes: Axes, keepdim: boolean) => ND;
  readonly rtol: number;
}

const CASES: Record<string, Case> = {
  // f32 accumulation with cancellation: held to 1e-5 norm-wise
  sum: { run: (x, a, k) => x.sum(a, k), ref: (x, a, k) => x.sum(a, k), rtol: 1e-5 },
  mean: { run: (x, a, k) => kiln.mean(x, a, k), ref: (x, a, k) => x.mean(a, k), rtol: 1e-5 },
  max: { run: (x, a, k) => x.max(a, k), ref: (x, a, k) => x.max(a, k), rtol: 0 },
  min: { run: (x, a, k) => kiln.min(x, a, k), ref: (x, a, k) => x.min(a, k), rtol: 0 },
  'var (correction 1)': { run: (x, a, k) => x.var(a, { keepdim: k }), ref: (x, a, k) => x.variance(a, 1, k), rtol: 1e-5 },
  'var (correction 0)': { run: (x, a, k) => kiln.var(x, a, { correction: 0, keepdim: k }), ref: (x, a, k) => x.variance(a, 0, k), rtol: 1e-5 },
  std: { run: (x, a, k) => x.std(a, { keepdim: k }), ref: (x, a, k) => x.variance(a, 1, k).map(Math.sqrt), rtol: 1e-5 },
};

async function expectClose(t: Tensor, ref: ND, rtol: number): Promise<void> {
  expect(t.shape).toEqual(ref.shape);
  expect(await read(t)).toBeAllClose(ref.values(), { rtol: Math.max(rtol, 1e-12) });
}

/** A [3, 4, 5] input, contiguous or as a strided view of the same shape. */
function inputs(seed: number): [string, Pair][] {
  const c = pair([3, 4, 5], seed);
  const p = pair([5, 3, 4], seed + 1);
  const s = pair([3, 9, 5], seed + 2);
  return [
    ['contiguous', c],
    ['permuted', { t: p.t.permute([1, 2, 0]), ref: p.ref.permute([1, 2, 0]) }],
    ['sliced with step', { t: s.t.slice(1, 1, undefined, 2), ref: s.ref.slice(1, 1, undefined, 2) }],
  ];
}

describe('value reductions over axes', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: every axis set, keepdim true/false, strided inputs`, async () => {
      for (const [layout, x] of inputs(10)) {
        for (const axes of AXES)
          for (const keepdim of [false, true]) {
            const r = keep(c.run(x.t, axes, keepdim));
            expect(r.shape, `${layout} axes ${JSON.stringify(axes)} keepdim ${keepdim}`).toEqual(c.ref(x.ref, axes, keepdim).shape);
            await expectClose(r, c.ref(x.ref, axes, keepdim), c.rtol);
          }
        keep(x.t);
      }
    });
  }

  it('long rows (> 2048, two-pass path) for every reduction, odd lengths, several rows', async () => {
    for (const n of [2049, 5000, 10007]) {
      const x = pair([3, n], n);
      keep(x.t);
      // shift so a max/min of 0 from an empty partial would show
      const shifted = keep(x.t.sub(10));
      const sref = x.ref.map((v) => Math.fround(v - 10));
      await expectClose(keep(x.t.sum(1)), x.ref.sum(1), 1e-5);
      await expectClose(keep(x.t.mean(-1, true)), x.ref.mean(-1, true), 1e-5);
      await expectClose(keep(shifted.max(1)), sref.max(1), 0);
      await expectClose(keep(shifted.neg().min(1)), sref.map((v) => -v).min(1), 0);
      await expectClose(keep(x.t.var(1)), x.ref.variance(1, 1), 1e-5);
      await expectClose(keep(x.t.argmax(1)), x.ref.argmax(1), 0);
      await expectClose(keep(x.t.argmin(1)), x.ref.argmin(1), 0);
      // the long axis strided and not last
      const tr = keep(x.t.t());
      await expectClose(keep(tr.sum(0)), x.ref.sum(1), 1e-5);
      await expectClose(keep(tr.max(0, true)), x.ref.transpose(0, 1).max(0, true), 0);
    }
    const big = pair([70000], 3);
    keep(big.t);
    await expectClose(keep(big.t.sum()), big.ref.sum(), 1e-5);
    await expectClose(keep(big.t.max()), big.ref.max(), 0);
  });

  it('more rows than one row of workgroups (2-D dispatch grid, rows > 65535·64)', async () => {
    const n = 65535 * 64 + 100;
    const x = keep(kiln.full([n, 2], 1.5));
    const s = await keep(x.sum(1)).data();
    expect(s.length).toBe(n);
    expect(s.every((v) => v === 3)).toBe(true);
  });

  it('reductions of 0-d and size-1 inputs', async () => {
    const s = keep(kiln.tensor(2.5));
    expect(s.shape).toEqual([]);
    expect(await keep(s.sum()).item()).toBe(2.5);
    expect(await keep(s.max(0)).item()).toBe(2.5);
    expect(keep(s.sum(0, true)).shape).toEqual([]);
    expect(await keep(s.argmax()).item()).toBe(0);
    const one = keep(kiln.tensor([[4]]));
    expect(await keep(one.mean([0, 1])).item()).toBe(4);
    expect(keep(one.sum(1)).shape).toEqual([1]);
  });
});

describe('argmax / argmin', () => {
  it('along each axis, flattened, keepdim, strided', async () => {
    for (const [layout, x] of inputs(30)) {
      for (const [name, run, ref] of [
        ['argmax', (t: Tensor, d?: number, k?: boolean) => t.argmax(d, k), (r: ND, d?: number, k?: boolean) => r.argmax(d, k)],
        ['argmin', (t: Tensor, d?: number, k?: boolean) => kiln.argmin(t, d, k), (r: ND, d?: number, k?: boolean) => r.argmin(d, k)],
      ] as const) {
        for (const d of [undefined, 0, 1, 2, -1])
          for (const k of [false, true]) {
            const r = keep(run(x.t, d, k));
            expect(r.dtype).toBe('i32');
            const e = ref(x.ref, d, k);
            const shape = d === undefined && k ? [1, 1, 1] : e.shape;
            expect(r.shape, `${name} ${layout} dim ${d} keepdim ${k}`).toEqual(shape);
            expect(Array.from(await r.data()), `${name} ${layout} dim ${d}`).toEqual(e.toArray());
          }
      }
      keep(x.t);
    }
  });

  it('ties pick the first index; NaN wins', async () => {
    const t = keep(kiln.tensor([[1, 3, 3, 0], [2, 2, 2, 2], [5, NaN, 7, NaN]]));
    expect(Array.from(await keep(t.argmax(1)).data())).toEqual([1, 0, 1]);
    expect(Array.from(await keep(t.argmin(1)).data())).toEqual([3, 0, 1]);
    const m = await keep(t.max(1)).data();
    expect(m[0]).toBe(3);
    expect(Number.isNaN(m[2]!)).toBe(true);
    const n = await keep(t.min(1)).data();
    expect(Number.isNaN(n[2]!)).toBe(true);
    const first = keep(kiln.tensor([NaN, 1, 2]));
    expect(Number.isNaN(await keep(first.max()).item())).toBe(true);
    const last = keep(kiln.tensor([1, 2, NaN]));
    expect(Number.isNaN(await keep(last.min()).item())).toBe(true);
    expect(await keep(last.argmax()).item()).toBe(2);
  });
});

describe('integer and bool reductions', () => {
  it('sum of i32 stays i32, sum of bool counts as i32, max of i32', async () => {
    const i = keep(kiln.tensor(new Int32Array([3, -7, 12, 5, 0, -1]), { shape: [2, 3] }));
    expect(i.dtype).toBe('i32');
    const s = keep(i.sum(1));
    expect(s.dtype).toBe('i32');
    expect(Array.from(await s.data())).toEqual([8, 4]);
    expect(Array.from(await keep(i.max(0)).data())).toEqual([5, 0, 12]);
    expect(Array.from(await keep(i.min()).data())).toEqual([-7]);
    expect(Array.from(await keep(i.argmin(1)).data())).toEqual([1, 2]);
    const b = keep(keep(i.gt(0)).sum());
    expect(b.dtype).toBe('i32');
    expect(await b.item()).toBe(3);
    const long = keep(kiln.ones([5000], { dtype: 'i32' }));
    expect(await keep(long.sum()).item()).toBe(5000);
    expect(() => i.mean()).toThrow(/mean.*i32/);
  });
});

describe('column sums (the vec4 kernel of a broadcast bias gradient)', () => {
  it('match float64 and, bit for bit, the general kernel on the same values at an unaligned offset', async () => {
    for (const [R, C] of [[2503, 36], [37, 8]] as const) {
      const flat = pair([R * C + 1], 91 + R);
      keep(flat.t);
      const shifted = keep(keep(flat.t.narrow(0, 1, R * C)).reshape([R, C])); // offset 1: reduce.wgsl
      const aligned = keep(shifted.contiguous()); // offset 0: reduce_columns.wgsl
      const ref = flat.ref.slice(0, 1, R * C + 1).reshape([R, C]);
      await expectClose(keep(aligned.sum(0)), ref.sum(0, false), 1e-5);
      const a = await keep(aligned.sum(0)).data();
      const b = await keep(shifted.sum(0)).data();
      expect(new Uint32Array(a.buffer)).toEqual(new Uint32Array(b.buffer));
    }
  });
});

describe('determinism', () => {
  it('the same reduction gives the same bits twice (short and two-pass rows)', async () => {
    for (const shape of [[64, 300], [4, 9000]]) {
      const x = pair(shape, 77);
      keep(x.t);
      for (const run of [(t: Tensor) => t.sum(1), (t: Tensor) => t.mean(), (t: Tensor) => t.var(0)]) {
        const a = await keep(run(x.t)).data();
        const b = await keep(run(x.t)).data();
        expect(new Uint32Array(b.buffer)).toEqual(new Uint32Array(a.buffer));
      }
    }
  });
});
