// The workgroup-memory tiled matmul (the GPU-class kernel), forced on the software adapter: every candidate
// tile against a float64 reference on odd sizes (edge tiles, k steps with a remainder), through each load
// path (vec4 along k, vec4 along m/n, scalar strided), broadcast batches, f16 storage with f32
// accumulation, and through the choice mechanism (KILN_MATMUL / forceKernel).
import { afterEach, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { type MatmulConfig, matmulConfigUsable, runMatmul } from '../../src/kernels/matmul.js';
import { type WgMatmulConfig, wgMatmulCandidates } from '../../src/kernels/matmul-wg.js';
import { kernelChoices, forceKernel } from '../../src/kernels/tune.js';
import { empty } from '../../src/tensor/alloc.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

interface Case {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** Batch of a and b: [2, 1] against [3] broadcasts to [2, 3]. */
  readonly batched?: boolean;
  /** Pass a (or b) as the .mT view of a contiguous transposed tensor. */
  readonly ta?: boolean;
  readonly tb?: boolean;
}

const CASES: Case[] = [
  { M: 37, K: 29, N: 45 }, // scalar loads; K not a multiple of BK
  { M: 68, K: 36, N: 132 }, // vec4 along k (a) and along n (b); edge tiles in m and n
  { M: 36, K: 20, N: 44, ta: true, tb: true }, // vec4 along m (a) and along k (b)
  { M: 9, K: 7, N: 12, batched: true, ta: true }, // broadcast batch, strided scalar a
];

afterEach(() => forceKernel('matmul', null));

/** Contiguous [batch..., rows, cols] values, as a tensor (transposed storage viewed back with .mT if asked). */
function tensorOf(v: Float64Array, batch: number[], rows: number, cols: number, transposed: boolean, dtype: 'f32' | 'f16'): kiln.Tensor {
  if (!transposed) return kiln.tensor(Float32Array.from(v), { shape: [...batch, rows, cols], dtype });
  const t = new Float32Array(v.length);
  const per = rows * cols;
  for (let z = 0; z < v.length / per; z++)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[z * per + j * rows + i] = v[z * per + i * cols + j]!;
  return kiln.tensor(t, { shape: [...batch, cols, rows], dtype }).mT;
}

async function check(c: Case, cfg: MatmulConfig | undefined, dtype: 'f32' | 'f16', rtol: number, seed: number): Promise<Float32Array> {
  const [ab, bb, batch] = c.batched ? [[2, 1], [3], [2, 3]] : [[], [], []];
  // f16: multiples of 1/256 in [−1, 1] are exact in f16 (9 significant bits), so the reference sees the same inputs
  const round = (x: number): number => (dtype === 'f16' ? Math.round(x * 256) / 256 : Math.fround(x));
  const av = randomArray((ab[0] ?? 1) * c.M * c.K, seed).map(round);
  const bv = randomArray((bb[0] ?? 1) * c.K * c.N, seed + 1).map(round);
  const nb = batch.length ? 6 : 1;
  const ref = new Float64Array(nb * c.M * c.N);
  for (let z = 0; z < nb; z++) {
    const za = batch.length ? Math.floor(z / 3) : 0; // a's batch [2, 1]
    const zb = batch.length ? z % 3 : 0; // b's batch [3]
    for (let i = 0; i < c.M; i++)
      for (let j = 0; j < c.N; j++) {
        let s = 0;
        for (let k = 0; k < c.K; k++) s += av[(za * c.M + i) * c.K + k]! * bv[(zb * c.K + k) * c.N + j]!;
        ref[(z * c.M + i) * c.N + j] = s;
      }
  }
  const a = tensorOf(av, ab, c.M, c.K, c.ta ?? false, dtype);
  const b = tensorOf(bv, bb, c.K, c.N, c.tb ?? false, dtype);
  const out = empty([...batch, c.M, c.N], dtype); // NaN-poisoned: an unwritten output fails
  const view = (t: kiln.Tensor, rows: number, cols: number) => {
    const o = t.operand('test');
    const r = t.shape.length;
    const pad = batch.length - (r - 2); // b's batch [3] lines up with the last batch axis
    const bs = batch.map((_, d) => (d < pad || t.shape[d - pad] === 1 ? 0 : o.strides[d - pad]!));
    return { ...o, shape: [...batch, rows, cols], strides: [...bs, o.strides[r - 2]!, o.strides[r - 1]!] };
  };
  runMatmul({ out: out.operand('test'), a: view(a, c.M, c.K), b: view(b, c.K, c.N) }, cfg);
  const got = Float32Array.from(await out.data());
  expect(got, `${JSON.stringify(c)} ${dtype} ${JSON.stringify(cfg ?? 'chosen')} seed ${TEST_SEED}`).toBeAllClose(ref, { rtol });
  for (const t of [a, b, out]) t.dispose();
  return got;
}

const label = (c: WgMatmulConfig): string => `${c.bm}×${c.bn}×${c.bk}, ${c.tm}×${c.tn} per invocation`;

describe('workgroup-memory tiled matmul vs float64 reference', () => {
  // f32 sums of ≤ 36 products of O(1) values: norm-wise error ~1e-7.
  it.each(wgMatmulCandidates.map((c) => [label(c), c] as const))('%s: f32, every load path (rtol 1e-5)', async (_, cfg) => {
    if (!matmulConfigUsable(cfg)) return; // a tile larger than this adapter's workgroup storage
    let seed = TEST_SEED;
    for (const c of CASES) await check(c, cfg, 'f32', 1e-5, (seed += 2));
  });

  // Inputs exact in f16; the f16 output rounds to 11 bits (relative 4.9e-4).
  it('f16 storage, f32 accumulation (rtol 2e-3)', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    let seed = TEST_SEED + 100;
    for (const c of CASES.slice(0, 3)) await check(c, wgMatmulCandidates[0], 'f16', 2e-3, (seed += 2));
  });

  it('keeps the register kernels\' summation order: bit-equal to the tiled kernel', async () => {
    const c = CASES[1]!;
    const wg = await check(c, wgMatmulCandidates[0], 'f32', 1e-5, TEST_SEED + 50);
    const tiled = await check(c, { kernel: 'tiled', wg: 64, tm: 1, tn: 8 }, 'f32', 1e-5, TEST_SEED + 50);
    expect(wg).toEqual(tiled);
  });

  it('is chosen through the mechanism: KILN_MATMUL and forceKernel, recorded in kernelChoices', async () => {
    const saved = process.env['KILN_MATMUL'];
    process.env['KILN_MATMUL'] = 'wg:32:32:16:4:4';
    try {
      expect(kernelChoices().env['KILN_MATMUL']).toBe('wg:32:32:16:4:4');
      await check(CASES[0]!, undefined, 'f32', 1e-5, TEST_SEED + 60);
      process.env['KILN_MATMUL'] = 'wg:30:32:16:4:4';
      await expect(check(CASES[0]!, undefined, 'f32', 1e-5, TEST_SEED + 60)).rejects.toThrow(/KILN_MATMUL must be .*got 'wg:30:32:16:4:4'/);
    } finally {
      if (saved === undefined) delete process.env['KILN_MATMUL'];
      else process.env['KILN_MATMUL'] = saved;
    }
    forceKernel('matmul', wgMatmulCandidates[0]);
    expect(kernelChoices().forced).toEqual({ matmul: wgMatmulCandidates[0] });
    await check(CASES[2]!, undefined, 'f32', 1e-5, TEST_SEED + 70);
  });
});
