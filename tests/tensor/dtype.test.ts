// Dtypes: PyTorch's promotion rules for tensor⊕tensor and tensor⊕number, bool comparison results, f16
// storage and readback, casts between every pair of dtypes, and refusals of mixed dtypes.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { DType, Tensor } from '../../src/node.js';
import { f16, gelu } from '../helpers/reference.js';
import { disposeAfterEach, read } from '../helpers/inputs.js';

const hasF16 = (): boolean => kiln.deviceInfo().features.includes('shader-f16');

const keep = disposeAfterEach();

describe('promotion', () => {
  it('i32 + f32 → f32, bool + i32 → i32, u32 + f32 → f32', async () => {
    const i = keep(kiln.tensor(new Int32Array([1, -2, 3])));
    const f = keep(kiln.tensor([0.5, 0.25, -1]));
    const r = keep(i.add(f));
    expect(r.dtype).toBe('f32');
    expect(Array.from(await r.data())).toEqual([1.5, -1.75, 2]);
    expect(keep(f.mul(i)).dtype).toBe('f32');
    const b = keep(kiln.tensor([true, false, true]));
    const bi = keep(b.add(i));
    expect(bi.dtype).toBe('i32');
    expect(Array.from(await bi.data())).toEqual([2, -2, 4]);
    const u = keep(kiln.tensor(new Uint32Array([1, 2, 3])));
    expect(keep(u.add(f)).dtype).toBe('f32');
  });

  it('f16 + f32 → f32, f16 + f16 → f16 (computed in f32, rounded once)', async () => {
    if (!hasF16()) return;
    const h = keep(kiln.tensor([1.5, 2.25, -3], { dtype: 'f16' }));
    const f = keep(kiln.tensor([0.1, 0.2, 0.3]));
    const r = keep(h.add(f));
    expect(r.dtype).toBe('f32');
    expect(await read(r)).toBeAllClose([1.5 + Math.fround(0.1), 2.25 + Math.fround(0.2), -3 + Math.fround(0.3)], { rtol: 1e-7 });
    const hh = keep(h.mul(keep(kiln.tensor([1 / 3, 1 / 3, 1 / 3], { dtype: 'f16' }))));
    expect(hh.dtype).toBe('f16');
    const third = f16(1 / 3);
    expect(Array.from(await read(hh))).toEqual([f16(1.5 * third), f16(2.25 * third), f16(-3 * third)]);
    expect(keep(h.add(1)).dtype).toBe('f16');
    expect(keep(h.add(2.5)).dtype).toBe('f16');
    expect(keep(h.exp()).dtype).toBe('f16');
  });

  it('int tensor with a number: integral stays i32, fractional promotes to f32', async () => {
    const i = keep(kiln.tensor(new Int32Array([1, 2, 3])));
    const a = keep(i.add(2));
    expect(a.dtype).toBe('i32');
    expect(Array.from(await a.data())).toEqual([3, 4, 5]);
    const b = keep(i.add(2.5));
    expect(b.dtype).toBe('f32');
    expect(Array.from(await b.data())).toEqual([3.5, 4.5, 5.5]);
    expect(keep(i.mul(3)).dtype).toBe('i32');
    expect(keep(kiln.sub(10, i)).dtype).toBe('i32');
    expect(Array.from(await keep(kiln.sub(10, i)).data())).toEqual([9, 8, 7]);
    expect(keep(i.pow(2)).dtype).toBe('i32');
    expect(Array.from(await keep(i.pow(2)).data())).toEqual([1, 4, 9]);
    expect(Array.from(await keep(kiln.pow(2, i)).data())).toEqual([2, 4, 8]);
    const bl = keep(kiln.tensor([true, false]));
    expect(keep(bl.add(1)).dtype).toBe('i32');
  });

  it('i32 division and float-only unaries give f32', async () => {
    const i = keep(kiln.tensor(new Int32Array([7, -7, 4])));
    const j = keep(kiln.tensor(new Int32Array([2, 2, 8])));
    const d = keep(i.div(j));
    expect(d.dtype).toBe('f32');
    expect(Array.from(await d.data())).toEqual([3.5, -3.5, 0.5]);
    const s = keep(i.div(2));
    expect(s.dtype).toBe('f32');
    expect(Array.from(await s.data())).toEqual([3.5, -3.5, 2]);
    expect(Array.from(await keep(kiln.div(14, i)).data())).toEqual([2, -2, 3.5]);
    expect(keep(i.exp()).dtype).toBe('f32');
    expect(keep(i.sqrt()).dtype).toBe('f32');
    expect(keep(i.sigmoid()).dtype).toBe('f32');
    const n = keep(i.neg());
    expect(n.dtype).toBe('i32');
    expect(Array.from(await n.data())).toEqual([-7, 7, -4]);
    expect(Array.from(await keep(i.abs()).data())).toEqual([7, 7, 4]);
    expect(Array.from(await keep(i.sign()).data())).toEqual([1, -1, 1]);
    expect(Array.from(await keep(i.relu()).data())).toEqual([7, 0, 4]);
  });

  it('comparisons give bool whatever the operand dtypes', async () => {
    const i = keep(kiln.tensor(new Int32Array([1, 2, 3])));
    const f = keep(kiln.tensor([1.5, 2, 2.5]));
    const c = keep(i.gt(f));
    expect(c.dtype).toBe('bool');
    expect(Array.from(await c.data())).toEqual([0, 0, 1]);
    expect(Array.from(await keep(i.eq(f)).data())).toEqual([0, 1, 0]);
    expect(Array.from(await keep(i.le(2.5)).data())).toEqual([1, 1, 0]);
    expect(Array.from(await keep(c.logicalNot()).data())).toEqual([1, 1, 0]);
  });
});

describe('f16 storage', () => {
  it('data() is a Float32Array of the rounded values, rawData() the binary16 bits', async () => {
    if (!hasF16()) return;
    const vals = [1, -2, 0.1, 65504, 1e-5, 3.14159];
    const h = keep(kiln.tensor(vals, { dtype: 'f16' }));
    const d = await h.data();
    expect(d).toBeInstanceOf(Float32Array);
    expect(Array.from(d)).toEqual(vals.map(f16));
    const raw = await h.rawData();
    expect(raw).toBeInstanceOf(Uint16Array);
    expect(Array.from(raw).slice(0, 4)).toEqual([0x3c00, 0xc000, 0x2e66, 0x7bff]);
    // odd offsets and strided views of f16 read back correctly
    const v = keep(h.slice(0, 1, undefined, 2));
    expect(Array.from(await v.data())).toEqual([vals[1]!, vals[3]!, vals[5]!].map(f16));
    expect(Array.from(await keep(h.slice(0, 1, 2)).rawData())).toEqual([0xc000]);
  });
});

describe('f16 compute', () => {
  it('unary, binary and in-place ops on f16 round once from f32 math', async () => {
    if (!hasF16()) return;
    const vals = Array.from({ length: 37 }, (_, i) => f16((i - 18) / 7));
    const h = keep(kiln.tensor(vals, { dtype: 'f16' }));
    for (const [name, run, ref] of [
      ['exp', (t: Tensor) => t.exp(), Math.exp],
      ['tanh', (t: Tensor) => t.tanh(), Math.tanh],
      ['gelu', (t: Tensor) => t.gelu(), gelu],
      ['mul', (t: Tensor) => t.mul(t), (x: number) => x * x],
    ] as const) {
      const r = keep(run(h));
      expect(r.dtype, name).toBe('f16');
      const got = await read(r);
      // one f16 rounding (2^-11 relative) of a value computed in f32
      expect(got, name).toBeAllClose(vals.map((v) => f16(ref(v))), { rtol: 1e-3 });
    }
    const acc = keep(kiln.zeros([37], { dtype: 'f16' }));
    acc.add_(h).add_(keep(kiln.ones([37])));
    expect(acc.dtype).toBe('f16');
    expect(Array.from(await read(acc))).toEqual(vals.map((v) => f16(v + 1)));
  });

  it('f16 reductions accumulate in f32 (sum of 5000 halves is exact), argmax and var', async () => {
    if (!hasF16()) return;
    const h = keep(kiln.full([5000, 3], 0.5, { dtype: 'f16' }));
    const s = keep(h.sum(0));
    expect(s.dtype).toBe('f16');
    expect(Array.from(await s.data())).toEqual([2500, 2500, 2500]);
    const m = keep(h.mean());
    expect(await m.item()).toBe(0.5);
    const v = keep(kiln.tensor([1, 2, 3, 4], { dtype: 'f16' }));
    expect(await keep(v.var()).item()).toBeCloseTo(5 / 3, 3);
    expect(await keep(v.argmax()).item()).toBe(3);
    expect(await keep(v.max()).item()).toBe(4);
  });

  it('gradients of an f16 leaf are f16', async () => {
    if (!hasF16()) return;
    const x = keep(kiln.tensor([1, 2, 3], { dtype: 'f16', requiresGrad: true }));
    keep(x.mul(x).sum()).backward();
    expect(x.grad!.dtype).toBe('f16');
    expect(Array.from(await x.grad!.data())).toEqual([2, 4, 6]);
    const w = keep(kiln.tensor([1, 2, 3], { requiresGrad: true }));
    keep(x.mul(w).sum()).backward();
    expect(Array.from(await x.grad!.data())).toEqual([3, 6, 9]);
    expect(w.grad!.dtype).toBe('f32');
    expect(Array.from(await w.grad!.data())).toEqual([1, 2, 3]);
  });
});

describe('casts', () => {
  const all: DType[] = ['f32', 'f16', 'i32', 'u32', 'bool'];
  const src: Record<DType, number[]> = {
    f32: [0, 1, 2.75, -0, 7],
    f16: [0, 1, 2.75, 3, 7],
    i32: [0, 1, -3, 300, 7],
    u32: [0, 1, 5, 300, 7],
    bool: [0, 1, 1, 0, 1],
  };
  const convert = (v: number, to: DType): number => {
    switch (to) {
      case 'f32':
      case 'f16':
        return v;
      case 'i32':
        return Math.trunc(v) | 0;
      case 'u32':
        return Math.trunc(v) >>> 0;
      case 'bool':
        return v !== 0 ? 1 : 0;
    }
  };
  for (const from of all)
    it(`cast and to from ${from} to every dtype`, async () => {
      if (from === 'f16' && !hasF16()) return;
      const x = keep(kiln.tensor(src[from], { dtype: from }));
      for (const to of all.filter((d) => d !== 'f16' || hasF16())) {
        const c = keep(x.cast(to));
        expect(c.dtype).toBe(to);
        const got = Array.from(await c.data());
        expect(got, `${from} → ${to}`).toEqual(src[from].map((v) => convert(v, to)));
        const t = keep(x.to(to));
        expect(t.dtype).toBe(to);
        if (to === from) expect(t).toBe(x);
      }
      expect(keep(x.float()).dtype).toBe('f32');
      if (hasF16()) expect(keep(x.half()).dtype).toBe('f16');
    });

  it('casts of strided views', async () => {
    const x = keep(kiln.tensor([[1.5, 2.5, 3.5], [4.5, 5.5, 6.5]]));
    expect(Array.from(await keep(x.t().cast('i32')).data())).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('mixed-dtype refusals', () => {
  it('matmul of mixed dtypes names both dtypes and shapes', () => {
    const a = keep(kiln.ones([2, 3]));
    const b = keep(kiln.ones([3, 2], { dtype: 'i32' }));
    expect(() => a.matmul(b)).toThrow('matmul: expected both operands to have the same dtype, but got f32 @ i32 (shapes [2,3] @ [3,2])');
    if (hasF16()) {
      const h = keep(kiln.ones([3, 2], { dtype: 'f16' }));
      expect(() => kiln.matmul(a, h)).toThrow(/matmul: .*f32 @ f16/);
    }
    const i = keep(kiln.ones([2, 3], { dtype: 'i32' }));
    expect(() => i.matmul(b)).toThrow(/matmul: only f32 and f16 are supported, got i32/);
  });

  it('requiresGrad on integer tensors is refused', () => {
    expect(() => kiln.tensor([1, 2], { dtype: 'i32', requiresGrad: true })).toThrow(/tensor: only floating point tensors can require gradients \(got dtype i32\)/);
    const i = keep(kiln.arange(3));
    expect(() => i.requiresGrad_()).toThrow(/requiresGrad_.*i32/);
    // @ts-expect-error -- the types allow only f32/f16; JavaScript callers get the run-time error.
    expect(() => kiln.rand([2], { dtype: 'i32' })).toThrow(/rand: expected a floating point dtype, got i32/);
  });
});
