// Memory: a training-like loop inside tidy leaves live tensors and bytes where they started and creates no
// new GPU buffers once the pool is warm; tidy keeps nested results intact and refuses async functions.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';

describe('ops free their temporaries (outside tidy)', () => {
  // Each lambda makes exactly one public call, so whatever stays live besides its result is a leak.
  const ops: [string, (a: Tensor, b: Tensor, mask: Tensor, at: Tensor) => Tensor][] = [
    ['add alpha', (a, b) => a.add(b, { alpha: 2 })],
    ['sub alpha', (a, b) => kiln.sub(a, b, { alpha: -0.5 })],
    ['std', (a) => a.std(1)],
    ['var', (a) => a.var()],
    ['mean', (a) => a.mean(0)],
    ['amax', (a) => a.max(1)],
    ['argmax of a view', (_a, _b, _m, at) => at.argmax()],
    ['where with scalar arms', (_a, _b, m) => kiln.where(m, 1, 0)],
    ['where with one scalar arm', (a, _b, m) => kiln.where(m, a, 0)],
    ['compare with a scalar', (a) => a.lt(0.5)],
    ['clamp', (a) => a.clamp(-0.1, 0.1)],
    ['reshape that copies', (_a, _b, _m, at) => at.reshape([-1])],
    ['select', (a) => a.select(0, 1)],
    ['minimum with a scalar', (a) => kiln.minimum(a, 0)],
    ['pow', (a, b) => b.pow(a)],
    ['gelu', (a) => a.gelu()],
  ];
  for (const [name, op] of ops)
    it(`${name}: forward and backward`, async () => {
      const a = kiln.randn([3, 4], { requiresGrad: true });
      const b = kiln.rand([3, 4], { requiresGrad: true });
      const mask = kiln.noGrad(() => a.gt(0));
      const at = a.t();
      await kiln.flush();
      const start = kiln.memory();
      const y0 = kiln.noGrad(() => op(a, b, mask, at));
      expect(kiln.memory().liveTensors - start.liveTensors, 'live after forward without grad').toBe(1);
      y0.dispose();
      const y1 = op(a, b, mask, at);
      expect(kiln.memory().liveTensors - start.liveTensors, 'live after forward with grad').toBe(1);
      if (y1.requiresGrad) {
        const g = kiln.onesLike(y1);
        y1.backward(g);
        g.dispose();
        for (const x of [a, b]) {
          x.grad?.dispose();
          x.grad = null;
        }
      }
      y1.dispose();
      const end = kiln.memory();
      expect(end.liveTensors, 'live tensors').toBe(start.liveTensors);
      expect(end.liveBytes, 'live bytes').toBe(start.liveBytes);
      for (const t of [a, b, mask, at]) t.dispose();
    });
});

describe('optimizer-style in-place updates', () => {
  it('p.add_(g, { alpha }) and p.sub_(g, { alpha }) under noGrad leave nothing behind', () => {
    const p = kiln.randn([8], { requiresGrad: true });
    const g = kiln.randn([8]);
    const start = kiln.memory();
    kiln.noGrad(() => {
      for (let i = 0; i < 10; i++) p.add_(g, { alpha: -0.1 }).sub_(g, { alpha: 0.05 });
    });
    expect(kiln.memory().liveTensors).toBe(start.liveTensors);
    expect(kiln.memory().liveBytes).toBe(start.liveBytes);
    p.dispose();
    g.dispose();
  });
});

describe('tidy', () => {
  it('200 forward/backward iterations leave liveTensors, liveBytes and buffersCreated flat', async () => {
    const w = kiln.randn([16, 8], { requiresGrad: true });
    const b = kiln.zeros([8], { requiresGrad: true });
    const x = kiln.randn([4, 16]);
    const step = (): void =>
      kiln.tidy(() => {
        const h = x.matmul(w).add(b).gelu();
        const loss = h.sub(h.mean(0, true)).square().mean().add(h.max(1).sum().mul(0.01));
        loss.backward();
        kiln.noGrad(() => {
          w.sub_(w.grad!.mul(0.01));
          b.sub_(b.grad!.mul(0.01));
        });
        w.grad!.zero_();
        b.grad!.zero_();
      });
    for (let i = 0; i < 3; i++) step();
    await kiln.flush();
    const start = kiln.memory();
    for (let i = 0; i < 200; i++) {
      step();
      if (i % 50 === 49) await kiln.flush();
    }
    await kiln.flush();
    const end = kiln.memory();
    expect(end.liveTensors).toBe(start.liveTensors);
    expect(end.liveBytes).toBe(start.liveBytes);
    expect(end.buffersCreated - start.buffersCreated).toBeLessThanOrEqual(2);
    expect(Number.isFinite(Array.from(await w.data()).reduce((a, v) => a + v, 0))).toBe(true);
    for (const t of [w, b, x]) t.dispose();
  });

  it('disposing everything returns liveTensors and liveBytes to where they were', () => {
    const start = kiln.memory();
    const x = kiln.randn([3, 5], { requiresGrad: true });
    const e = x.exp();
    const m = e.mul(x);
    const y = m.sum();
    const z = e.tanh(); // a graph that is never run backward: its saved tensors go when its output does
    y.backward();
    const t = x.t();
    const v = t.slice(0, 1);
    for (const d of [e, m, y, z, t, v, x]) d.dispose();
    const end = kiln.memory();
    expect(end.liveTensors).toBe(start.liveTensors);
    expect(end.liveBytes).toBe(start.liveBytes);
  });

  it('returns nested results intact and frees the rest', async () => {
    const before = kiln.memory().liveTensors;
    const r = kiln.tidy(() => {
      const a = kiln.ones([2]);
      const tmp = a.mul(3);
      return { a, list: [tmp.add(1), new Map([['k', tmp.sub(1)]])] as const, n: 5, nested: { deep: [[a.exp()]] } };
    });
    expect(r.n).toBe(5);
    expect(Array.from(await r.list[0].data())).toEqual([4, 4]);
    expect(Array.from(await r.list[1].get('k')!.data())).toEqual([2, 2]);
    expect(r.a.isDisposed).toBe(false);
    expect(r.nested.deep[0]![0]!.isDisposed).toBe(false);
    // a, list[0], map value, exp: 4 live; tmp was freed
    expect(kiln.memory().liveTensors - before).toBe(4);
    for (const t of [r.a, r.list[0], r.list[1].get('k')!, r.nested.deep[0]![0]!]) t.dispose();
    expect(kiln.memory().liveTensors).toBe(before);
  });

  it('nested tidy moves kept tensors to the outer scope', () => {
    const before = kiln.memory().liveTensors;
    let inner: Tensor | null = null;
    const outer = kiln.tidy(() => {
      inner = kiln.tidy(() => kiln.ones([2]).mul(2));
      return inner.add(1);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(outer.isDisposed).toBe(false);
    outer.dispose();
    expect(kiln.memory().liveTensors).toBe(before);
  });

  it('throws if fn returns a Promise, and frees what fn made; frees on throw', () => {
    const before = kiln.memory().liveTensors;
    expect(() => kiln.tidy(() => Promise.resolve(kiln.ones([2])))).toThrow(/tidy: fn returned a Promise; tidy is synchronous/);
    expect(kiln.memory().liveTensors).toBe(before);
    expect(() =>
      kiln.tidy(() => {
        kiln.ones([3]);
        throw new Error('inner');
      }),
    ).toThrow('inner');
    expect(kiln.memory().liveTensors).toBe(before);
  });
});
