// Retrieval metrics against a float64 reference on fixed embeddings (with exact ties, broken by index as
// OpenCLIP's argsort does), chance levels against their closed forms, and kiln.train.evaluate end to end
// through the GPU similarity on an identity "model".
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

/** Fixed embeddings: small integers (so f32 and f64 cosines order identically), some rows repeated (ties). */
function fixed(n: number, dim: number, seed: number): Float64Array {
  const u = kiln.train.uniformStream(seed);
  const x = Float64Array.from({ length: n * dim }, () => Math.floor(u() * 5) - 2);
  for (let i = 3; i < n; i += 7) x.copyWithin(i * dim, (i - 1) * dim, i * dim); // row i = row i−1: a tie
  for (let i = 0; i < n; i++) if (x.subarray(i * dim, (i + 1) * dim).every((v) => v === 0)) x[i * dim] = 1;
  return x;
}

function cosine64(a: Float64Array, b: Float64Array, n: number, dim: number): Float64Array {
  const norm = (x: Float64Array, i: number): number => Math.hypot(...x.subarray(i * dim, (i + 1) * dim));
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let k = 0; k < dim; k++) d += a[i * dim + k]! * b[j * dim + k]!;
      s[i * n + j] = d / (norm(a, i) * norm(b, j));
    }
  return s;
}

/** The reference: sort the row (score descending, index ascending), first correct position, numpy median. */
function reference(sim: Float64Array, n: number, labels: Int32Array): { r: Record<string, number>; median: number } {
  const ranks: number[] = [];
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => sim[i * n + y]! - sim[i * n + x]! || x - y);
    ranks.push(order.findIndex((j) => labels[j] === labels[i]));
  }
  const s = [...ranks].sort((a, b) => a - b);
  const med = n % 2 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
  return { r: Object.fromEntries([1, 5, 10].map((k) => [String(k), ranks.filter((r) => r < k).length / n])), median: Math.floor(med) + 1 };
}

describe('retrieval metrics', () => {
  it('match a float64 reference with ties broken by index, per-index and per-class correctness', () => {
    const n = 40;
    const dim = 6;
    const a = fixed(n, dim, 1);
    const b = a.map((v, i) => v + (i % 3 === 0 ? 1 : 0)); // partly aligned
    const sim = cosine64(a, b, n, dim);
    for (const labels of [Int32Array.from({ length: n }, (_, i) => i), Int32Array.from({ length: n }, (_, i) => i % 5)]) {
      const got = kiln.train.retrievalMetrics(Float32Array.from(sim), n, n, labels, labels);
      const want = reference(sim, n, labels);
      for (const k of ['1', '5', '10']) expect(got.recall[k]).toBe(want.r[k]);
      expect(got.medianRank).toBe(want.median);
    }
  });

  it('chance levels: k/n with one correct item, 1 − C(n−m,k)/C(n,k) with m', () => {
    expect(kiln.train.chanceRecall(256, 1, 5)).toBeCloseTo(5 / 256, 12);
    const choose = (n: number, k: number): number => (k === 0 ? 1 : (choose(n - 1, k - 1) * n) / k);
    expect(kiln.train.chanceRecall(30, 4, 3)).toBeCloseTo(1 - choose(26, 3) / choose(30, 3), 12);
    const labels = Int32Array.from({ length: 20 }, (_, i) => i % 4); // 5 of each class
    const m = kiln.train.retrievalMetrics(new Float32Array(400), 20, 20, labels, labels);
    expect(m.chance.recall['1']).toBeCloseTo(5 / 20, 12);
    expect(m.chance.medianRank).toBeCloseTo(21 / 6, 12);
    expect(() => kiln.train.retrievalMetrics(new Float32Array(4), 2, 2, [0, 1], [0, 0])).toThrow(/query 1 .*no correct item/);
  });

  it('kiln.train.evaluate scores both directions through the GPU similarity like the reference', async () => {
    const n = 24;
    const dim = 8;
    const ea = fixed(n, dim, 7);
    const eb = fixed(n, dim, 7).map((v, i) => v + (i % 4 === 1 ? 2 : 0));
    const inputs = { a: { shape: [dim], dtype: 'f32' as const }, b: { shape: [dim], dtype: 'f32' as const } };
    const dataset: kiln.train.Dataset = { size: n, inputs, get: (i) => ({ a: Float32Array.from(ea.subarray(i * dim, (i + 1) * dim)), b: Float32Array.from(eb.subarray(i * dim, (i + 1) * dim)) }) };
    const scale = kiln.full([], 10);
    const model: kiln.train.TrainModel = {
      module: new kiln.nn.Identity(),
      architecture: kiln.models.imageBindConfig(await kiln.models.loadImageBindConfig('tiny')),
      inputs,
      defaultPairs: [],
      extraParams: new Map(),
      embed: (_m, x) => kiln.F.normalize(x, { dim: -1 }),
      temperature: () => scale,
      towerOf: () => 'x',
      afterStep: () => undefined,
      syncBuffers: () => undefined,
    };
    const r = await kiln.train.evaluate(model, dataset, { pairs: [['a', 'b']], batch: 8 });
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    const ab = reference(cosine64(ea, eb, n, dim), n, idx);
    const ba = reference(cosine64(eb, ea, n, dim), n, idx);
    const [d0, d1] = r.pairs[0]!.directions;
    expect([d0.query, d0.gallery, d1.query, d1.gallery]).toEqual(['a', 'b', 'b', 'a']);
    expect(d0.recall).toEqual(ab.r);
    expect(d1.recall).toEqual(ba.r);
    expect(d0.medianRank).toBe(ab.median);
    expect(r.pairs[0]!.matrix).toHaveLength(64);
    expect(r.pairs[0]!.diagonal).toBeGreaterThan(r.pairs[0]!.offDiagonal);
    expect(Number.isFinite(r.pairs[0]!.valLoss)).toBe(true);
    scale.dispose();
  });
});
