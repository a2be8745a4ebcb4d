// cat, stack, gather, indexSelect, scatterAdd: GPU vs float64 references on fresh random inputs (strided
// views included), gradients vs finite differences, bit-exact determinism of the scatter-adds, and errors.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { runScatterAdd } from '../../src/kernels/index-scatter.js';
import { empty } from '../../src/tensor/alloc.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { TEST_SEED, randomArray, rng } from '../helpers/random.js';

let seed = TEST_SEED;
const next = (): number => (seed = (seed + 7919) % 1_000_000_007);

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Random f32-representable values of `shape`, as a tensor and its float64 copy. */
function rand(shape: readonly number[], opts: { requiresGrad?: boolean } = {}): { t: Tensor; v: Float64Array } {
  const v = Float64Array.from(Float32Array.from(randomArray(numel(shape), next())));
  return { t: kiln.tensor(Float32Array.from(v), { shape, requiresGrad: opts.requiresGrad ?? false }), v };
}

/** Random integers in [0, hi) (repeats likely), as an i32 tensor and the plain values. */
function randInt(shape: readonly number[], hi: number, dtype: 'i32' | 'u32' = 'i32'): { t: Tensor; v: number[] } {
  const r = rng(next());
  const v = Array.from({ length: numel(shape) }, () => Math.floor(r() * hi));
  return { t: kiln.tensor(dtype === 'i32' ? Int32Array.from(v) : Uint32Array.from(v), { shape }), v };
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

/** Row-major coordinates of flat index i. */
function coords(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return c;
}
function flat(c: readonly number[], shape: readonly number[]): number {
  return c.reduce((a, x, d) => a * shape[d]! + x, 0);
}

// ---- float64 references --------------------------------------------------------------------------------

function refCat(parts: { v: ArrayLike<number>; shape: readonly number[] }[], dim: number): number[] {
  const shape = [...parts[0]!.shape];
  shape[dim] = parts.reduce((a, p) => a + p.shape[dim]!, 0);
  const out = new Array<number>(numel(shape)).fill(NaN);
  let start = 0;
  for (const p of parts) {
    for (let i = 0; i < numel(p.shape); i++) {
      const c = coords(i, p.shape);
      c[dim] = c[dim]! + start;
      out[flat(c, shape)] = p.v[i]!;
    }
    start += p.shape[dim]!;
  }
  return out;
}

function refGather(x: ArrayLike<number>, xShape: readonly number[], dim: number, idx: readonly number[], iShape: readonly number[]): number[] {
  return idx.map((j, i) => {
    const c = coords(i, iShape);
    c[dim] = j;
    return x[flat(c, xShape)]!;
  });
}

function refScatterAdd(x: ArrayLike<number> | null, xShape: readonly number[], dim: number, idx: readonly number[], iShape: readonly number[], src: ArrayLike<number>, sShape: readonly number[]): number[] {
  const out = x ? Array.from(x) : new Array<number>(numel(xShape)).fill(0);
  idx.forEach((j, i) => {
    const c = coords(i, iShape);
    const s = src[flat(c, sShape)]!;
    c[dim] = j;
    out[flat(c, xShape)]! += s;
  });
  return out;
}

function refIndexSelect(x: ArrayLike<number>, xShape: readonly number[], dim: number, idx: readonly number[]): number[] {
  const shape = [...xShape];
  shape[dim] = idx.length;
  return Array.from({ length: numel(shape) }, (_, i) => {
    const c = coords(i, shape);
    c[dim] = idx[c[dim]!]!;
    return x[flat(c, xShape)]!;
  });
}

// ---- cat, stack ----------------------------------------------------------------------------------------

describe('cat', () => {
  it.each([
    { shapes: [[7], [1], [33]], dim: 0 },
    { shapes: [[7, 33], [1, 33], [130, 33]], dim: 0 },
    { shapes: [[7, 1], [7, 33], [7, 130]], dim: -1 },
    { shapes: [[2, 7, 3], [2, 1, 3]], dim: 1 },
  ])('matches the reference for $shapes along $dim', async ({ shapes, dim }) => {
    const xs = shapes.map((s) => rand(s));
    const got = kiln.cat(xs.map((x) => x.t), dim);
    const d = dim < 0 ? dim + shapes[0]!.length : dim;
    expect(got.shape).toEqual(refShape(shapes, d));
    expect(await values(got)).toBeAllClose(refCat(xs.map((x, i) => ({ v: x.v, shape: shapes[i]! })), d), { rtol: 1e-6 });
  });

  it('reads strided inputs (mT, permute, stepped slices)', async () => {
    const a = rand([33, 7]).t.mT; // [7, 33]
    const b = rand([4, 33, 7]).t.permute([2, 0, 1]).select(1, 2); // [7, 33]
    const c = rand([7, 70]).t.slice(1, 1, 67, 2); // [7, 33]
    const got = kiln.cat([a, b, c], 0);
    const parts = await Promise.all([a, b, c].map(async (t) => ({ v: await values(t), shape: t.shape })));
    expect(await values(got)).toBeAllClose(refCat(parts, 0), { rtol: 1e-6 });
  });

  it('promotes dtypes and skips 1-D empty tensors', async () => {
    const i = kiln.tensor(Int32Array.from([1, 2, 3]), { shape: [1, 3] });
    const f = kiln.tensor([[0.5, 1.5, 2.5]]);
    const e = kiln.tensor(new Float32Array(0));
    const got = kiln.cat([e, i, f, e], 0);
    expect(got.dtype).toBe('f32');
    expect(await got.toArray()).toEqual([[1, 2, 3], [0.5, 1.5, 2.5]]);
    const ints = kiln.cat([i, i], 1);
    expect(ints.dtype).toBe('i32');
    expect(await ints.toArray()).toEqual([[1, 2, 3, 1, 2, 3]]);
    expect(kiln.cat([e, e]).shape).toEqual([0]);
    const z = kiln.cat([kiln.zeros([2, 0]), kiln.ones([2, 2])], 1);
    expect(await z.toArray()).toEqual([[1, 1], [1, 1]]);
  });

  it('has gradients: slices of dy per input', async () => {
    await gradcheck((a, b, c) => kiln.cat([a, b, c], 1).tanh(), [{ shape: [2, 1] }, { shape: [2, 3] }, { shape: [2, 2] }], { mode: 'full' });
    await gradcheck((a, b) => kiln.cat([a.mT, b], 0).mul(kiln.cat([b, a.mT], 0)), [{ shape: [33, 7] }, { shape: [1, 33] }], { mode: 'directions' });
  });

  it('sends gradients only to the inputs that need them', async () => {
    const a = kiln.ones([2, 2], { requiresGrad: true });
    const b = kiln.ones([3, 2]);
    kiln.cat([b, a], 0).mul(kiln.arange(10, undefined, 1, { dtype: 'f32' }).reshape([5, 2])).sum().backward();
    expect(await a.grad!.toArray()).toEqual([[6, 7], [8, 9]]);
    expect(b.grad).toBeNull();
  });
});

function refShape(shapes: readonly (readonly number[])[], d: number): number[] {
  const s = [...shapes[0]!];
  s[d] = shapes.reduce((a, x) => a + x[d]!, 0);
  return s;
}

describe('stack', () => {
  it('stacks along a new dimension (forward and backward)', async () => {
    for (const dim of [0, 1, 2, -1]) {
      const xs = [rand([7, 3]), rand([7, 3]), rand([7, 3])];
      const got = kiln.stack(xs.map((x) => x.t), dim);
      const d = dim < 0 ? dim + 3 : dim;
      const unsq = xs.map((x) => {
        const shape = [7, 3];
        shape.splice(d, 0, 1);
        return { v: x.v, shape };
      });
      expect(got.shape).toEqual(refShape(unsq.map((u) => u.shape), d));
      expect(await values(got)).toBeAllClose(refCat(unsq, d), { rtol: 1e-6 });
    }
    await gradcheck((a, b) => kiln.stack([a, b.mT, a], 1).tanh(), [{ shape: [2, 3] }, { shape: [3, 2] }], { mode: 'full' });
  });
});

// ---- gather --------------------------------------------------------------------------------------------

describe('gather', () => {
  it.each([
    { x: [7, 33], dim: 1, index: [7, 5] },
    { x: [7, 33], dim: 0, index: [130, 33] },
    { x: [33, 7], dim: 1, index: [1, 1] },
    { x: [3, 7, 5], dim: 1, index: [2, 33, 4] },
    { x: [130], dim: 0, index: [7] },
  ])('matches the reference for x $x, dim $dim, index $index', async ({ x, dim, index }) => {
    const xs = rand(x);
    const idx = randInt(index, x[dim]!);
    const got = kiln.gather(xs.t, dim, idx.t);
    expect(got.shape).toEqual(index);
    expect(await values(got)).toBeAllClose(refGather(xs.v, x, dim, idx.v, index), { rtol: 1e-6 });
  });

  it('reads strided x and index, u32 and i32 indices', async () => {
    const x = rand([33, 3, 7]).t.permute([1, 2, 0]); // [3, 7, 33]
    const idx = randInt([33, 7, 3], 33, 'u32').t.permute([2, 1, 0]).slice(2, 0, 33, 4); // [3, 7, 9]
    const got = x.gather(2, idx);
    const xv = await values(x);
    const iv = await values(idx);
    expect(await values(got)).toBeAllClose(refGather(xv, x.shape, 2, iv, idx.shape), { rtol: 1e-6 });
  });

  it('gathers integer tensors exactly', async () => {
    const x = kiln.tensor(Int32Array.from([5, -6, 7, 8, 9, 10]), { shape: [2, 3] });
    const idx = kiln.tensor(Int32Array.from([2, 2, 0, 1]), { shape: [2, 2] });
    expect(await x.gather(1, idx).toArray()).toEqual([[7, 7], [8, 9]]);
  });

  it('clamps out-of-range index values instead of reading out of bounds (unchecked, the default)', async () => {
    const prev = kiln.setDebug(false); // tests/setup.ts turns checked mode on
    try {
      const x = kiln.tensor([[1, 2, 3]]);
      const idx = kiln.tensor(Int32Array.from([-5, 1, 1000]), { shape: [1, 3] });
      expect(await x.gather(1, idx).toArray()).toEqual([[1, 2, 3]]);
    } finally {
      kiln.setDebug(prev);
    }
  });

  it('has gradients (scatter-add of dy at index, repeated indices)', async () => {
    const idx = kiln.tensor(Int32Array.from([0, 0, 2, 1, 1, 1]), { shape: [2, 3] });
    await gradcheck((x) => x.gather(1, idx), [{ shape: [2, 4] }], { mode: 'full' });
    await gradcheck((x) => x.gather(0, idx), [{ shape: [3, 3] }], { mode: 'full' });
    // long lines (bucketed path) on a strided input
    const long = randInt([7, 40], 5).t;
    await gradcheck((x) => x.mT.gather(1, long).mul(2), [{ shape: [5, 7] }], { mode: 'directions' });
  });

  it('backward matches the float64 scatter-add for short and long index lines', async () => {
    for (const [rows, cols, len] of [[7, 33, 5], [7, 33, 130]] as const) {
      const xs = rand([rows, cols], { requiresGrad: true });
      const idx = randInt([rows, len], cols);
      const dy = rand([rows, len]);
      xs.t.gather(1, idx.t).backward(dy.t);
      const ref = refScatterAdd(null, [rows, cols], 1, idx.v, [rows, len], dy.v, [rows, len]);
      expect(await values(xs.t.grad!)).toBeAllClose(ref, { rtol: 1e-6 });
    }
  });
});

// ---- indexSelect ---------------------------------------------------------------------------------------

describe('indexSelect', () => {
  it.each([
    { x: [130, 33], dim: 0, n: 1000 },
    { x: [7, 33], dim: 1, n: 7 },
    { x: [3, 7, 5], dim: 1, n: 1 },
    { x: [130], dim: -1, n: 33 },
  ])('matches the reference for x $x, dim $dim, $n ids', async ({ x, dim, n }) => {
    const d = dim < 0 ? dim + x.length : dim;
    const xs = rand(x);
    const idx = randInt([n], x[d]!);
    const got = kiln.indexSelect(xs.t, dim, idx.t);
    expect(await values(got)).toBeAllClose(refIndexSelect(xs.v, x, d, idx.v), { rtol: 1e-6 });
  });

  it('reads a strided weight and a strided, 0-d or u32 index', async () => {
    const w = rand([33, 130]).t.mT; // [130, 33]
    const ids = randInt([66], 130, 'u32').t.slice(0, 1, 66, 2); // 33 ids, stride 2
    const wv = await values(w);
    expect(await values(w.indexSelect(0, ids))).toBeAllClose(refIndexSelect(wv, [130, 33], 0, await values(ids)), { rtol: 1e-6 });
    const one = w.indexSelect(1, kiln.tensor(3, { dtype: 'i32' }));
    expect(one.shape).toEqual([130, 1]);
    expect(await values(one)).toBeAllClose(refIndexSelect(wv, [130, 33], 1, [3]), { rtol: 1e-6 });
  });

  it('backward is index_add of dy (embedding, many repeats) and matches float64', async () => {
    const [V, N, D] = [130, 1000, 33];
    const w = rand([V, D], { requiresGrad: true });
    const ids = randInt([N], 7); // heavy repeats in 7 rows
    const dy = rand([N, D]);
    w.t.indexSelect(0, ids.t).backward(dy.t);
    const ref = new Array<number>(V * D).fill(0);
    ids.v.forEach((v, n) => {
      for (let d = 0; d < D; d++) ref[v * D + d]! += dy.v[n * D + d]!;
    });
    expect(await values(w.t.grad!)).toBeAllClose(ref, { rtol: 1e-6 });
  });

  it('backward of 4-aligned rows (the vec4 row kernel) sums each bucket in increasing position, bit for bit', async () => {
    // f32 accumulation in increasing n from 0 (the gradient) or from x (scatterAdd): the general kernel's order.
    const [V, N, D] = [97, 600, 36];
    const ids = randInt([N], V);
    const idsT = ids.t;
    const dy = rand([N + 3, D]);
    const src = dy.t.narrow(0, 3, N); // a row offset of 3·36 elements (4-aligned)
    const x = rand([V, D]);
    const seq = (base: Float64Array | null): number[] => {
      const r = Array.from({ length: V * D }, (_, i) => (base ? base[i]! : 0));
      ids.v.forEach((v, n) => {
        const j = v;
        for (let d = 0; d < D; d++) r[j * D + d] = Math.fround(r[j * D + d]! + dy.v[(n + 3) * D + d]!);
      });
      return r;
    };
    const w = kiln.zeros([V, D]).requiresGrad_();
    w.indexSelect(0, idsT).backward(src);
    expect(await values(w.grad!)).toEqual(seq(null));
    const added = x.t.scatterAdd(0, idsT.unsqueeze(1).expand([N, D]), src);
    expect(await values(added)).toEqual(seq(x.v));
  });

  it('has gradients along any dimension', async () => {
    const ids = kiln.tensor(Int32Array.from([1, 0, 1, 1]));
    await gradcheck((x) => x.indexSelect(1, ids), [{ shape: [2, 3] }], { mode: 'full' });
    const many = randInt([40], 5).t;
    await gradcheck((x) => x.mT.indexSelect(0, many).tanh(), [{ shape: [7, 5] }], { mode: 'directions' });
  });
});

// ---- scatterAdd ----------------------------------------------------------------------------------------

describe('scatterAdd', () => {
  it.each([
    { x: [7, 33], dim: 1, index: [7, 5], src: [7, 5] },
    { x: [7, 33], dim: 0, index: [130, 33], src: [130, 33] },
    { x: [7, 33], dim: 1, index: [3, 40], src: [5, 41] },
    { x: [3, 7, 5], dim: 2, index: [2, 7, 33], src: [3, 7, 33] },
    { x: [7], dim: 0, index: [130], src: [130] },
  ])('matches the reference for x $x, dim $dim, index $index, src $src', async ({ x, dim, index, src }) => {
    const xs = rand(x);
    const ss = rand(src);
    const idx = randInt(index, x[dim]!);
    const got = xs.t.scatterAdd(dim, idx.t, ss.t);
    expect(got.shape).toEqual(x);
    expect(await values(got)).toBeAllClose(refScatterAdd(xs.v, x, dim, idx.v, index, ss.v, src), { rtol: 1e-6 });
  });

  it('reads strided x, index and src; leaves x unchanged', async () => {
    const x = rand([33, 7]).t.mT; // [7, 33]
    const idx = randInt([20, 7], 33).t.mT; // [7, 20]
    const src = rand([3, 7, 20]).t.select(0, 1);
    const before = await values(x);
    const got = kiln.scatterAdd(x, 1, idx, src);
    const ref = refScatterAdd(before, [7, 33], 1, await values(idx), [7, 20], await values(src), [7, 20]);
    expect(await values(got)).toBeAllClose(ref, { rtol: 1e-6 });
    expect(await values(x)).toEqual(before);
  });

  it('adds integers exactly', async () => {
    const x = kiln.tensor(Int32Array.from([1, 2, 3]));
    const idx = kiln.tensor(Int32Array.from([0, 2, 2, 0, 2]));
    const src = kiln.tensor(Int32Array.from([10, 20, 30, 40, 50]));
    expect(await x.scatterAdd(0, idx, src).toArray()).toEqual([51, 2, 103]);
  });

  it('has gradients: dy for x, gather(dy) for src (zero outside the index)', async () => {
    const idx = kiln.tensor(Int32Array.from([0, 0, 2, 1, 1, 1]), { shape: [2, 3] });
    await gradcheck((x, s) => x.scatterAdd(1, idx, s).tanh(), [{ shape: [2, 4] }, { shape: [2, 3] }], { mode: 'full' });
    await gradcheck((x, s) => x.scatterAdd(0, idx, s).tanh(), [{ shape: [3, 3] }, { shape: [3, 4] }], { mode: 'full' });
    const long = randInt([7, 40], 33).t;
    await gradcheck((x, s) => x.scatterAdd(1, long, s.mT).tanh(), [{ shape: [7, 33] }, { shape: [40, 7] }], { mode: 'directions' });
  });
});

// ---- f16 -----------------------------------------------------------------------------------------------

describe('f16', () => {
  it('cats, gathers and scatter-adds half tensors (sums in f32)', async (ctx) => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) ctx.skip();
    const a = rand([7, 33]);
    const h = a.t.half();
    const hv = await values(h);
    const c = kiln.cat([h, a.t], 0);
    expect(c.dtype).toBe('f32');
    expect(await values(c)).toBeAllClose(refCat([{ v: hv, shape: [7, 33] }, { v: a.v, shape: [7, 33] }], 0), { rtol: 1e-6 });
    const ids = randInt([40], 7);
    const w = h.detach().requiresGrad_();
    const y = w.indexSelect(0, ids.t);
    expect(y.dtype).toBe('f16');
    expect(await values(y)).toBeAllClose(refIndexSelect(hv, [7, 33], 0, ids.v), { rtol: 1e-6 });
    const dy = rand([40, 33]).t.half();
    y.backward(dy);
    expect(w.grad!.dtype).toBe('f16');
    const ref = new Array<number>(7 * 33).fill(0);
    const dyv = await values(dy);
    ids.v.forEach((v, n) => {
      for (let d = 0; d < 33; d++) ref[v * 33 + d]! += dyv[n * 33 + d]!;
    });
    expect(await values(w.grad!)).toBeAllClose(ref, { rtol: 1e-3 });
  });
});

// ---- determinism ---------------------------------------------------------------------------------------

describe('determinism', () => {
  async function gradBits(fn: (w: Tensor) => Tensor, shape: readonly number[], dy: Tensor): Promise<Uint32Array> {
    const w = kiln.tensor(Float32Array.from(randomArray(numel(shape), 42)), { shape, requiresGrad: true });
    fn(w).backward(dy);
    const bits = new Uint32Array((await w.grad!.data()).buffer.slice(0));
    w.dispose();
    return bits;
  }

  it('indexSelect and gather backward and scatterAdd are bit-exact run to run', async () => {
    const ids = randInt([2048], 50).t;
    const dy = kiln.tensor(Float32Array.from(randomArray(2048 * 16, next(), 1e3)), { shape: [2048, 16] });
    const a = await gradBits((w) => w.indexSelect(0, ids), [64, 16], dy);
    const b = await gradBits((w) => w.indexSelect(0, ids), [64, 16], dy);
    expect(Array.from(a)).toEqual(Array.from(b));

    const gi = randInt([16, 300], 10).t;
    const gy = kiln.tensor(Float32Array.from(randomArray(16 * 300, next(), 1e3)), { shape: [16, 300] });
    const c = await gradBits((w) => w.gather(1, gi), [16, 10], gy);
    const d = await gradBits((w) => w.gather(1, gi), [16, 10], gy);
    expect(Array.from(c)).toEqual(Array.from(d));

    const x = kiln.tensor(Float32Array.from(randomArray(160, next())), { shape: [16, 10] });
    const f1 = new Uint32Array((await x.scatterAdd(1, gi, gy).data()).buffer.slice(0));
    const f2 = new Uint32Array((await x.scatterAdd(1, gi, gy).data()).buffer.slice(0));
    expect(Array.from(f1)).toEqual(Array.from(f2));
  });

  it('the direct scan and the counting-sort path give bit-identical sums', async () => {
    const [rows, size, len] = [5, 9, 200];
    const idx = randInt([rows, len], size).t;
    const src = kiln.tensor(Float32Array.from(randomArray(rows * len, next(), 1e4)), { shape: [rows, len] });
    const run = async (direct: boolean): Promise<number[]> => {
      const out = empty([rows, size], 'f32');
      runScatterAdd(out.operand('test'), null, src.operand('test'), idx.operand('test'), 1, direct);
      return Array.from(new Uint32Array((await out.data()).buffer.slice(0)));
    };
    expect(await run(true)).toEqual(await run(false));
  });
});

// ---- memory --------------------------------------------------------------------------------------------

describe('memory', () => {
  it('frees temporaries of forward and backward (and the sort buffers return to the pool)', async () => {
    const ids = randInt([100], 9).t;
    const idx = randInt([4, 40], 9).t;
    const step = async (): Promise<void> => {
      const w = kiln.randn([9, 4], { requiresGrad: true });
      const s = kiln.randn([4, 40], { requiresGrad: true });
      const loss = kiln.tidy(() => {
        const parts = [w.indexSelect(0, ids).sum(), w.mT.gather(1, idx).sum(), w.mT.scatterAdd(1, idx, s).sum(), kiln.stack([w, w]).sum(), kiln.cat([w, w], 1).sum()];
        return kiln.stack(parts).sum();
      });
      loss.backward();
      await loss.item();
      for (const t of [w, s, loss]) t.dispose();
    };
    await step();
    const start = kiln.memory();
    await step();
    await step();
    const end = kiln.memory();
    expect(end.liveTensors).toBe(start.liveTensors);
    expect(end.liveBytes).toBe(start.liveBytes);
    expect(end.buffersCreated).toBe(start.buffersCreated);
  });
});

// ---- errors --------------------------------------------------------------------------------------------

describe('errors', () => {
  it('names the op, shapes and dtypes', () => {
    const a = kiln.zeros([2, 3]);
    expect(() => kiln.cat([])).toThrow(/cat: expected a non-empty list/);
    expect(() => kiln.cat([a, kiln.zeros([4, 5])], 1)).toThrow(/cat: sizes of tensors must match except in dimension 1: \[2,3\] vs \[4,5\] at dimension 0/);
    expect(() => kiln.cat([a, kiln.zeros([2, 3, 1])])).toThrow(/cat: tensors must have the same number of dimensions: got \[2,3\] and \[2,3,1\]/);
    expect(() => kiln.cat([a, kiln.zeros([])])).toThrow(/cat: zero-dimensional tensor \(at position 1\)/);
    expect(() => kiln.cat([a], 2)).toThrow(/cat: dimension out of range/);
    expect(() => kiln.stack([])).toThrow(/stack: expected a non-empty list/);
    expect(() => kiln.stack([a, kiln.zeros([3, 2])])).toThrow(/stack: expects each tensor to be equal size, but got \[2,3\] at entry 0 and \[3,2\] at entry 1/);
    const fi = kiln.zeros([2, 3]);
    const ii = kiln.zeros([2, 3], { dtype: 'i32' });
    expect(() => a.gather(1, fi)).toThrow(/gather: expected an index of dtype i32 or u32, got f32/);
    expect(() => a.gather(1, kiln.zeros([6], { dtype: 'i32' }))).toThrow(/gather: index tensor must have the same number of dimensions as input tensor: input \[2,3\], index \[6\]/);
    expect(() => a.gather(1, kiln.zeros([3, 3], { dtype: 'i32' }))).toThrow(/gather: size of index \[3,3\] exceeds input \[2,3\] at dimension 0/);
    expect(() => kiln.zeros([2, 0]).gather(1, ii)).toThrow(/gather: index out of range: dimension 1 of input \[2,0\] is empty/);
    expect(() => a.indexSelect(0, ii)).toThrow(/indexSelect: index must be 0-D or 1-D, got shape \[2,3\]/);
    expect(() => a.indexSelect(0, kiln.zeros([2], { dtype: 'bool' }))).toThrow(/indexSelect: expected an index of dtype i32 or u32, got bool/);
    expect(() => a.indexSelect(2, kiln.zeros([2], { dtype: 'i32' }))).toThrow(/indexSelect: dimension out of range/);
    expect(() => a.scatterAdd(1, ii, kiln.zeros([2, 3], { dtype: 'i32' }))).toThrow(/scatterAdd: expected self.dtype to be equal to src.dtype: f32 vs i32/);
    expect(() => a.scatterAdd(1, ii, kiln.zeros([2, 2]))).toThrow(/scatterAdd: expected index \[2,3\] to be no larger than src \[2,2\]/);
    expect(() => a.scatterAdd(1, kiln.zeros([6], { dtype: 'i32' }), kiln.zeros([6]))).toThrow(/scatterAdd: index and src must have the same number of dimensions as self/);
  });
});
