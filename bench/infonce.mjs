// The fused softmax-InfoNCE (CLIP) loss against its unfused composition (tuned matmul → N×N logits → two
// fused cross-entropies): forward + backward wall time (median, min–max) and peak GPU memory per variant.
// Standalone: `npm run build && node bench/infonce.mjs [--sizes=256x512,1024x512] [--runs=5] [--max-run=20]
// [--tiles=16,4,4;8,4,16,sg,4] [--kiln=DIR] [--interleave]` (--interleave: variants in turn, --runs rounds, medians
// of wall and CPU; tile candidates set KILN_INFONCE_TILES per variant; --kiln loads
// Kiln from DIR/index.js). Beside wall time: process CPU time per run and GFLOP/s normalised by it
// (2·flops / CPU-seconds), steadier than wall time on a loaded machine. Exports benchInfoNCE.

import { fileURLToPath } from 'node:url';
import { interleaved } from './attention.mjs';
import { benchWithCpu } from './lib/cpu-timing.mjs';

const DEFAULT_SIZES = [
  [256, 512],
  [256, 1024],
  [1024, 512],
  [1024, 1024],
  [4096, 512],
  [4096, 1024],
];

/** One forward + backward, synchronised by reading the loss and every gradient back; returns the loss. */
async function once(kiln, a, b, s, fused) {
  const loss = kiln.F.infoNCE(a, b, s, { fused });
  loss.backward();
  const value = await loss.item();
  await Promise.all([a.grad.data(), b.grad.data(), s.grad.data()]);
  loss.dispose();
  for (const t of [a, b, s]) {
    t.grad.dispose();
    t.grad = null;
  }
  return value;
}

/**
 * Times fused vs unfused InfoNCE forward + backward for each [N, D] in `opts.sizes`. A variant is skipped
 * at a size when its time at the previous size, scaled by N²·D, predicts one run over `opts.maxRunS`.
 * `opts.tiles`: extra fused variants, each a 'wg,tm,tn' string (KILN_INFONCE_TILES).
 * Returns rows { n, d, variant, medianMs, minMs, maxMs, runs, peakBytes, gflops, loss } or { skipped }.
 */
export async function benchInfoNCE(kiln, opts = {}) {
  const info = kiln.deviceInfo();
  const sizes = opts.sizes ?? DEFAULT_SIZES;
  const runs = opts.runs ?? 5;
  const maxRunS = opts.maxRunS ?? 20;
  const log = opts.log ?? ((s) => console.log(s));
  const variants = [
    ...(opts.tiles ?? [null]).map((tiles) => ({ name: tiles ? `fused ${tiles}` : 'fused', fused: true, tiles })), // null: the adapter default
    { name: 'unfused', fused: false, tiles: null },
  ];
  const last = new Map(); // variant → { n, d, ms }
  const rows = [];
  for (const [n, d] of sizes) {
    const a = kiln.randn([n, d]);
    const b = kiln.randn([n, d]);
    // unit embeddings, as CLIP feeds the loss
    const A = kiln.F.normalize(a).requiresGrad_(true);
    const B = kiln.F.normalize(b).requiresGrad_(true);
    const s = kiln.tensor(14.3, { requiresGrad: true });
    for (const v of variants) {
      const prev = last.get(v.name);
      const predicted = prev ? (prev.ms * (n / prev.n) ** 2 * (d / prev.d)) / 1000 : 0;
      if (predicted > maxRunS) {
        const why = `skipped: predicted ${predicted.toFixed(0)} s a run from ${prev.n}×${prev.d} (over --max-run ${maxRunS} s)`;
        log(`  N=${n} D=${d} ${v.name}: ${why}`);
        rows.push({ n, d, variant: v.name, skipped: why });
        continue;
      }
      if (v.tiles) process.env.KILN_INFONCE_TILES = v.tiles;
      else delete process.env.KILN_INFONCE_TILES;
      // one warm-up (the compiles); a run the warm-up predicts over maxRunS / 2 cuts the runs towards 3
      const r = await benchWithCpu(kiln, () => once(kiln, A, B, s, v.fused), { runs, warmup: 1, budgetMs: maxRunS * 500 * runs });
      const [med, cpuMs, peak, count, loss] = [r.median, r.cpuMs, r.peakBytes, r.runs, r.result];
      // fused: the one-pass kernels (CPU adapters with 8-lane subgroups) run 1 N²D product forward and 3
      // backward, the plain per-side kernels 2 and 4; unfused: 1 forward, 2 backward
      const products = v.fused ? (info.architecture === 'software' && info.features.includes('subgroups') ? 4 : 6) : 3;
      // cpuGflops counts the 3 N²D products of the loss itself, so fused and unfused compare directly
      const row = { n, d, variant: v.name, medianMs: med, minMs: r.min, maxMs: r.max, cpuMs, runs: count, peakBytes: peak, gflops: (products * 2 * n * n * d) / (med * 1e6), cpuGflops: (3 * 2 * n * n * d) / (cpuMs * 1e6), loss };
      rows.push(row);
      last.set(v.name, { n, d, ms: med });
      log(`  N=${n} D=${d} ${v.name.padEnd(14)} ${med.toFixed(1).padStart(9)} ms (${row.minMs.toFixed(1)}–${row.maxMs.toFixed(1)}, ${count} runs), cpu ${cpuMs.toFixed(0)} ms [${row.cpuGflops.toFixed(2)} GFLOP/cpu-s]  peak ${(peak / 2 ** 20).toFixed(1).padStart(7)} MiB  ${row.gflops.toFixed(2)} GFLOP/s of N²D products  loss ${loss.toFixed(4)}`);
    }
    delete process.env.KILN_INFONCE_TILES;
    for (const t of [a, b, A, B, s]) t.dispose();
  }
  return rows;
}

/**
 * Fused (under each tile candidate in `opts.tiles`, null = the default) vs unfused forward + backward,
 * interleaved (`opts.runs` rounds, default 7): median wall and CPU ms and fused ÷ unfused per size.
 */
export async function benchInfoNCEInterleaved(kiln, opts = {}) {
  const rounds = opts.runs ?? 7;
  const log = opts.log ?? ((s) => console.log(s));
  const out = [];
  for (const [n, d] of opts.sizes ?? DEFAULT_SIZES) {
    const A = kiln.F.normalize(kiln.randn([n, d])).requiresGrad_(true);
    const B = kiln.F.normalize(kiln.randn([n, d])).requiresGrad_(true);
    const s = kiln.tensor(14.3, { requiresGrad: true });
    const step = (fused, tiles) => () => {
      if (tiles) process.env.KILN_INFONCE_TILES = tiles;
      else delete process.env.KILN_INFONCE_TILES;
      return once(kiln, A, B, s, fused);
    };
    const variants = [...(opts.tiles ?? [null]).map((t) => ({ name: t ? `fused ${t}` : 'fused', run: step(true, t) })), { name: 'unfused', run: step(false, null) }];
    const res = await interleaved(kiln, variants, rounds);
    delete process.env.KILN_INFONCE_TILES;
    const un = res.at(-1);
    for (const r of res) {
      log(`  N=${n} D=${d} ${r.name.padEnd(18)} wall ${r.wallMs.toFixed(1)} ms, cpu ${r.cpuMs.toFixed(1)} ms; ÷ unfused: wall ${(r.wallMs / un.wallMs).toFixed(2)}, cpu ${(r.cpuMs / un.cpuMs).toFixed(2)} (${rounds} rounds)`);
      out.push({ n, d, ...r });
    }
    for (const t of [A, B, s]) t.dispose();
  }
  return out;
}

function parseArgs(argv) {
  const get = (k) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  const sizes = get('sizes')?.split(',').map((x) => x.split('x').map(Number));
  const tiles = get('tiles')?.split(';').map((t) => (t === 'default' ? null : t));
  return { sizes, runs: get('runs') ? Number(get('runs')) : undefined, maxRunS: get('max-run') ? Number(get('max-run')) : undefined, tiles, kiln: get('kiln'), interleave: argv.includes('--interleave') };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const args = parseArgs(process.argv.slice(2));
  const kiln = await import(args.kiln ? new URL(`file://${args.kiln}/index.js`).href : '../dist/index.js');
  const info = await kiln.init();
  console.log(`infoNCE fused vs unfused, forward + backward: ${info.vendor} ${info.architecture} (${info.description})`);
  await (args.interleave ? benchInfoNCEInterleaved : benchInfoNCE)(kiln, args);
  process.exit(0);
}
