// f16 against f32, side by side in one process: matmul (n×n·n×n, product + flush) and fused attention
// (forward, and forward + backward) at the same shapes, median ms with min–max, process CPU time and peak
// GPU memory per run. f16 stores operands and outputs in half the bytes and computes in f32.
// Standalone: `npm run build && node bench/f16.mjs [--runs=N] [--sizes=256,512,1024] [--attention=32x197x64,...]`
// (--kiln=DIR loads Kiln from DIR/index.js instead of dist/). Also `node bench/run.mjs --suites=f16`.
// Not part of the tests.

import { fileURLToPath } from 'node:url';
import { forwardBackward } from './attention.mjs';
import { timeIt } from './lib/cpu-timing.mjs';

/**
 * opts: { runs = 5, sizes = [256, 512, 1024] (matmul n), attention = [[BH, L, D], ...], log = console.log }.
 * Returns one row per (op, shape, dtype): { op, shape, dtype, fwd, fwdBwd? } with median/min/max/cpuMs/peakMiB.
 */
export async function benchF16(kiln, opts = {}) {
  const runs = opts.runs ?? 5;
  const sizes = opts.sizes ?? [256, 512, 1024];
  const attention = opts.attention ?? [[32, 197, 64], [32, 257, 64]];
  const log = opts.log ?? console.log;
  if (!kiln.deviceInfo().features.includes('shader-f16')) {
    log('f16: skipped, the adapter has no shader-f16');
    return [];
  }
  const rows = [];
  const f = (s) => `${s.median.toFixed(1)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)}), cpu ${s.cpuMs.toFixed(0)} ms, peak ${s.peakMiB.toFixed(2)} MiB`;
  // Inputs are made in each dtype and freed before the other's run: peak memory counts every live tensor.
  for (const n of sizes) {
    for (const dtype of ['f32', 'f16']) {
      const [a, b] = [kiln.randn([n, n], { dtype }), kiln.randn([n, n], { dtype })];
      const fwd = await timeIt(kiln, runs, async () => {
        const y = a.matmul(b);
        await kiln.flush();
        y.dispose();
      });
      rows.push({ op: 'matmul', shape: `${n}x${n}x${n}`, dtype, fwd, gflops: (2 * n ** 3) / fwd.median / 1e6 });
      log(`matmul n=${n} ${dtype}: ${f(fwd)} [${((2 * n ** 3) / fwd.median / 1e6).toFixed(2)} GFLOP/s]`);
      for (const t of [a, b]) t.dispose();
    }
  }
  for (const [BH, L, D] of attention) {
    const shape = [2, BH / 2, L, D];
    for (const dtype of ['f32', 'f16']) {
      const [q, k, v] = [0, 1, 2].map(() => kiln.randn(shape, { dtype, requiresGrad: true }));
      const gy = kiln.randn(shape, { dtype });
      const fwd = await timeIt(kiln, runs, async () => {
        const y = kiln.noGrad(() => kiln.F.scaledDotProductAttention(q, k, v));
        await kiln.flush();
        y.dispose();
      });
      const fwdBwd = await timeIt(kiln, runs, () => forwardBackward(kiln, { q, k, v, gy }, true));
      rows.push({ op: 'attention', shape: `${BH}x${L}x${D}`, dtype, fwd, fwdBwd });
      log(`attention B·H=${BH} L=${L} D=${D} ${dtype}: forward ${f(fwd)} | forward+backward ${f(fwdBwd)}`);
      for (const t of [q, k, v, gy]) t.dispose();
    }
  }
  return rows;
}

function parseArgs(argv) {
  const get = (k) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  return {
    runs: get('runs') ? Number(get('runs')) : undefined,
    sizes: get('sizes')?.split(',').map(Number),
    attention: get('attention')?.split(',').map((s) => s.split('x').map(Number)),
    kiln: get('kiln'),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const os = await import('node:os');
  const args = parseArgs(process.argv.slice(2));
  const kiln = await import(args.kiln ? new URL(`file://${args.kiln}/index.js`).href : '../dist/index.js');
  const info = await kiln.init();
  console.log(`f16 vs f32: ${info.vendor} ${info.architecture} (${info.description}); load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  await benchF16(kiln, args);
  process.exit(0);
}
