// Dropout / DropPath (mask regenerated in backward), quickGelu, normalize and embedding.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { randomArray } from '../helpers/random.js';

describe('dropout and dropPath', () => {
  it('drops about p of the elements, scales the rest, and regenerates the same mask in backward', async () => {
    kiln.manualSeed(7);
    const n = 20_000;
    const x = kiln.ones([n], { requiresGrad: true });
    const y = kiln.F.dropout(x, 0.3);
    const g = kiln.full([n], 2);
    y.backward(g);
    const yd = await y.data();
    const gd = await x.grad!.data();
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (yd[i] !== 0) {
        kept++;
        expect(yd[i]).toBeCloseTo(1 / 0.7, 5);
        expect(gd[i]).toBeCloseTo(2 / 0.7, 5);
      } else expect(gd[i]).toBe(0);
    }
    expect(Math.abs(kept / n - 0.7)).toBeLessThan(0.015);
    // same seed, same mask; eval mode and p = 0 are the identity
    kiln.manualSeed(7);
    expect(Array.from(await kiln.F.dropout(kiln.ones([n]), 0.3).data())).toEqual(Array.from(yd));
    const z = kiln.ones([4]);
    expect(kiln.F.dropout(z, 0.5, false)).toBe(z);
    expect(() => kiln.F.dropout(z, 1.5)).toThrow(/dropout: probability has to be between 0 and 1, but got 1.5/);
  });

  it('dropPath keeps or drops whole samples', async () => {
    kiln.manualSeed(3);
    const x = kiln.ones([400, 3, 5]);
    const y = await kiln.F.dropPath(x, 0.25).data();
    let dropped = 0;
    for (let b = 0; b < 400; b++) {
      const v = y.slice(b * 15, (b + 1) * 15);
      expect(new Set(v).size).toBe(1);
      if (v[0] === 0) dropped++;
      else expect(v[0]).toBeCloseTo(1 / 0.75, 5);
    }
    expect(Math.abs(dropped / 400 - 0.25)).toBeLessThan(0.07);
  });
});

describe('quickGelu, normalize, embedding', () => {
  it('quickGelu and normalize match float64 and finite differences', async () => {
    const xs = randomArray(7 * 33, 21);
    const x = kiln.tensor(Float32Array.from(xs), { shape: [7, 33] });
    expect(await kiln.F.quickGelu(x).data()).toBeAllClose(xs.map((v) => v / (1 + Math.exp(-1.702 * v))), { rtol: 1e-6 });
    const ref = new Float64Array(xs.length);
    for (let r = 0; r < 7; r++) {
      const row = xs.subarray(r * 33, r * 33 + 33);
      const nrm = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
      for (let j = 0; j < 33; j++) ref[r * 33 + j] = row[j]! / nrm;
    }
    expect(await kiln.F.normalize(x, { dim: -1 }).data()).toBeAllClose(ref, { rtol: 1e-6 });
    await gradcheck((a) => kiln.F.normalize(a, { dim: 1 }), [{ shape: [3, 4] }]);
    await gradcheck((a) => kiln.F.quickGelu(a), [{ shape: [2, 5] }]);
  });

  it('embedding gathers rows and scatters gradients back deterministically', async () => {
    const ws = randomArray(10 * 4, 5);
    const ids = kiln.tensor(Int32Array.from([3, 1, 3, 9, 0, 3]), { shape: [2, 3] });
    const w = kiln.tensor(Float32Array.from(ws), { shape: [10, 4], requiresGrad: true });
    const e = kiln.F.embedding(ids, w);
    expect(e.shape).toEqual([2, 3, 4]);
    const want = [3, 1, 3, 9, 0, 3].flatMap((i) => Array.from(ws.subarray(i * 4, i * 4 + 4)));
    expect(await e.data()).toBeAllClose(want, { rtol: 1e-7 });
    e.sum().backward();
    const gw = await w.grad!.data();
    expect(gw[3 * 4]).toBe(3);
    expect(gw[2 * 4]).toBe(0);
    await gradcheck((wt) => kiln.F.embedding(ids, wt), [{ shape: [10, 4] }], { mode: 'directions' });
  });
});
