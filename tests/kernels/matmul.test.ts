// Every matmul kernel configuration against a float64 reference: odd sizes (edge tiles), transposed views
// read through their strides, broadcast batch axes, f16 storage, and grids past 65,535 workgroups.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { type MatmulConfig, defaultMatmulConfig, matmulCandidates, matmulConfigUsable, naiveMatmulConfig, runMatmul } from '../../src/kernels/matmul.js';
import { empty } from '../../src/tensor/alloc.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

type DT = 'f32' | 'f16';

interface Case {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** Batch shapes of a and b (broadcast against each other). */
  readonly ab?: readonly number[];
  readonly bb?: readonly number[];
  /** Pass a (or b) as the .mT view of a contiguous transposed tensor. */
  readonly ta?: boolean;
  readonly tb?: boolean;
}

const prod = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);

/** Float64 reference of out = a @ b for dense row-major a [ab..., M, K] and b [bb..., K, N]. */
function reference(c: Case, a: Float64Array, b: Float64Array): { out: Float64Array; batch: number[] } {
  const ab = c.ab ?? [];
  const bb = c.bb ?? [];
  const rank = Math.max(ab.length, bb.length);
  const pa = [...Array<number>(rank - ab.length).fill(1), ...ab];
  const pb = [...Array<number>(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((x, i) => Math.max(x, pb[i]!));
  const out = new Float64Array(prod(batch) * c.M * c.N);
  for (let z = 0; z < prod(batch); z++) {
    let rem = z;
    let za = 0;
    let zb = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const i = rem % batch[d]!;
      rem = Math.floor(rem / batch[d]!);
      za += (pa[d] === 1 ? 0 : i) * sa;
      zb += (pb[d] === 1 ? 0 : i) * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    for (let i = 0; i < c.M; i++)
      for (let j = 0; j < c.N; j++) {
        let s = 0;
        for (let k = 0; k < c.K; k++) s += a[(za * c.M + i) * c.K + k]! * b[(zb * c.K + k) * c.N + j]!;
        out[(z * c.M + i) * c.N + j] = s;
      }
  }
  return { out, batch };
}

/** A [...batch, rows, cols] tensor with values `v`, stored transposed (and viewed back with .mT) if asked. */
function operand(v: Float64Array, batch: readonly number[], rows: number, cols: number, transposed: boolean, dtype: DT): kiln.Tensor {
  if (!transposed) return kiln.tensor(Float32Array.from(v), { shape: [...batch, rows, cols], dtype });
  const t = new Float32Array(v.length);
  for (let z = 0; z < prod(batch); z++)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[(z * cols + j) * rows + i] = v[(z * rows + i) * cols + j]!;
  return kiln.tensor(t, { shape: [...batch, cols, rows], dtype }).mT;
}

/** Rounds like the device's storage type, so the reference sees the same inputs. */
function stored(v: Float64Array, dtype: DT): Float64Array {
  return v.map((x) => (dtype === 'f16' ? round16(x) : Math.fround(x)));
}

function round16(x: number): number {
  // f16 rounding through a Float16-less path: 11 significant bits, round to nearest even (no subnormals here).
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.floor(Math.log2(Math.abs(x)));
  const q = 2 ** (e - 10);
  const r = x / q;
  const f = Math.floor(r);
  const d = r - f;
  const n = d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
  return n * q;
}

async function check(c: Case, cfg: MatmulConfig | undefined, dtype: DT, rtol: number, seed: number): Promise<void> {
  const ab = c.ab ?? [];
  const bb = c.bb ?? [];
  const av = stored(randomArray(prod(ab) * c.M * c.K, seed), dtype);
  const bv = stored(randomArray(prod(bb) * c.K * c.N, seed + 1), dtype);
  const ref = reference(c, av, bv);
  const a = operand(av, ab, c.M, c.K, c.ta ?? false, dtype);
  const b = operand(bv, bb, c.K, c.N, c.tb ?? false, dtype);
  const out = empty([...ref.batch, c.M, c.N], dtype); // NaN-poisoned: an unwritten output fails
  const view = (t: kiln.Tensor, rows: number, cols: number) => {
    const o = t.operand('test');
    const r = t.shape.length;
    const pad = ref.batch.length - (r - 2);
    const bs = ref.batch.map((n, d) => (d < pad || t.shape[d - pad] === 1 ? 0 : o.strides[d - pad]!));
    return { ...o, shape: [...ref.batch, rows, cols], strides: [...bs, o.strides[r - 2]!, o.strides[r - 1]!] };
  };
  runMatmul({ out: out.operand('test'), a: view(a, c.M, c.K), b: view(b, c.K, c.N) }, cfg);
  const got = await out.data();
  const what = `${JSON.stringify(c)} ${dtype} ${JSON.stringify(cfg ?? 'default')} seed ${TEST_SEED}`;
  expect(got, what).toBeAllClose(ref.out, { rtol });
  for (const t of [a, b, out]) t.dispose();
}

const SIZES: Case[] = [
  { M: 1, K: 1, N: 1 },
  { M: 7, K: 7, N: 7 },
  { M: 33, K: 33, N: 33 },
  { M: 130, K: 130, N: 130 },
  { M: 5, K: 12, N: 9 },
  { M: 130, K: 64, N: 70 },
  { M: 64, K: 36, N: 132 }, // vec4 paths (K, N multiples of 4) with edge tiles
  { M: 3, K: 200, N: 17 },
  { M: 200, K: 3, N: 2 },
];
const TRANSPOSED: Case[] = [
  { M: 33, K: 20, N: 40, ta: true },
  { M: 33, K: 20, N: 40, tb: true },
  { M: 33, K: 20, N: 40, ta: true, tb: true },
  { M: 36, K: 16, N: 44, ta: true, tb: true },
  { M: 36, K: 16, N: 44, tb: true },
];
const BATCHED: Case[] = [
  { M: 9, K: 8, N: 12, ab: [2, 1], bb: [3] },
  { M: 9, K: 7, N: 5, ab: [2, 1], bb: [3], ta: true },
  { M: 4, K: 8, N: 8, ab: [3], bb: [1], tb: true },
];

const configs: MatmulConfig[] = [naiveMatmulConfig, ...matmulCandidates];
const label = (c: MatmulConfig): string => `${c.kernel} wg=${c.wg} tm=${c.tm} tn=${c.tn}`;

describe('matmul kernels vs float64 reference', () => {
  // f32 products of O(1) values over K ≤ 200 terms: norm-wise error ~1e-7; 1e-5 leaves room for any order.
  it.each(configs.map((c) => [label(c), c] as const))('%s: f32 sizes, transposes, broadcast batch (rtol 1e-5)', async (_, cfg) => {
    if (!matmulConfigUsable(cfg)) return; // e.g. the subgroup kernel on an adapter without subgroups ≥ 8
    let seed = TEST_SEED;
    for (const c of [...SIZES, ...TRANSPOSED, ...BATCHED]) await check(c, cfg, 'f32', 1e-5, (seed += 2));
  });

  // f16 storage rounds each output to 11 bits (relative 4.9e-4); the f32 accumulation adds little.
  it.each(configs.map((c) => [label(c), c] as const))('%s: f16 storage, f32 accumulation (rtol 2e-3)', async (_, cfg) => {
    if (!kiln.deviceInfo().features.includes('shader-f16') || !matmulConfigUsable(cfg)) return;
    let seed = TEST_SEED + 1000;
    for (const c of [{ M: 33, K: 33, N: 33 }, { M: 36, K: 16, N: 44 }, { M: 36, K: 16, N: 44, ta: true, tb: true }, BATCHED[0]!])
      await check(c, cfg, 'f16', 2e-3, (seed += 2));
  });

  it('default configuration through kiln.matmul, and batches past the 65,535-workgroup grid (rtol 1e-5)', async () => {
    await check({ M: 65, K: 48, N: 72, ab: [2], bb: [2], tb: true }, undefined, 'f32', 1e-5, TEST_SEED + 7);
    // 70,000 independent 1×1 products: one workgroup each, folded over the grid's y dimension.
    for (const cfg of [undefined, naiveMatmulConfig]) await check({ M: 1, K: 2, N: 1, ab: [70000], bb: [70000] }, cfg, 'f32', 1e-5, TEST_SEED + 9);
    // Linear's x·Wᵀ with M ≥ 512: the k-major weight is copied to row-major first (matmul-relayout.ts).
    await check({ M: 530, K: 36, N: 44, tb: true }, undefined, 'f32', 1e-5, TEST_SEED + 11);
    await check({ M: 260, K: 12, N: 8, ab: [2], bb: [], tb: true }, undefined, 'f32', 1e-5, TEST_SEED + 13);
    // …and the copy changes only the loads: bit-equal to the product with the weight made contiguous first.
    const x = kiln.randn([2, 300, 40]);
    const w = kiln.randn([24, 40]);
    expect(Array.from(await x.matmul(w.mT).data())).toEqual(Array.from(await x.matmul(w.mT.contiguous()).data()));
    const a = kiln.tensor([[1, 2], [3, 4], [5, 6]]);
    const b = kiln.tensor([[1, 0, 2], [0, 1, 3]]);
    expect(Array.from(await kiln.matmul(a, b).data())).toEqual([1, 2, 8, 3, 4, 18, 5, 6, 28]);
  });
});

describe('matmul relayout (matmul-relayout.ts)', () => {
  /** out = a·b by the default choice (relaid out where it pays) and by the same configuration forced (never relaid). */
  async function both(a: kiln.Tensor, b: kiln.Tensor): Promise<{ relaid: ArrayLike<number>; direct: ArrayLike<number>; copies: number }> {
    const r = a.shape.length;
    const shape = [...a.shape.slice(0, r - 1), b.shape[r - 1]!];
    const [o1, o2] = [empty(shape, 'f32'), empty(shape, 'f32')];
    const p = (o: kiln.Tensor) => ({ out: o.operand('test'), a: a.operand('test'), b: b.operand('test') });
    await kiln.flush();
    kiln.resetStats();
    runMatmul(p(o1));
    const copies = kiln.stats().dispatches - 1;
    runMatmul(p(o2), defaultMatmulConfig());
    const out = { relaid: await o1.data(), direct: await o2.data(), copies };
    o1.dispose();
    o2.dispose();
    return out;
  }

  // The copy changes the loads, not the products or their order: bit-equal to the unrelaid path.
  // Products of ≥ 2²³ multiply-adds (the relayout's minimum): the weight gradient xᵀ·g reads X k-major.
  it.each([
    ['weight gradient xᵀ·g (X k-major)', [256, 128], [256, 256], true, false, 1],
    ['batched k-major X', [4, 64, 128], [4, 64, 256], true, false, 1],
    ['batched k-major Y (Q·Kᵀ)', [4, 256, 64], [4, 128, 64], false, true, 1],
    ['too little work per copied element', [2400, 60], [2400, 60], true, false, 0],
    ['too small a product', [64, 40], [64, 68], true, false, 0],
    ['K % 4 ≠ 0', [258, 128], [258, 256], true, false, 0],
  ] as const)('%s: bit-equal to the forced configuration', async (_, as, bs, ta, tb, copies) => {
    if (!matmulConfigUsable(defaultMatmulConfig())) return;
    const [x, y] = [kiln.randn([...as]), kiln.randn([...bs])];
    const got = await both(ta ? x.mT : x, tb ? y.mT : y);
    expect(got.copies).toBe(copies);
    expect(Array.from(got.relaid)).toEqual(Array.from(got.direct));
    x.dispose();
    y.dispose();
  });

  it('f16: Linear x·Wᵀ (shared k-major W) relaid by the elementwise copy, bit-equal', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16') || !matmulConfigUsable(defaultMatmulConfig())) return;
    const [x, w] = [kiln.randn([1024, 64]).half(), kiln.randn([128, 64]).half()];
    const got = await both(x, w.mT);
    expect(got.copies).toBe(1);
    expect(Array.from(got.relaid)).toEqual(Array.from(got.direct));
    x.dispose();
    w.dispose();
  });
});

