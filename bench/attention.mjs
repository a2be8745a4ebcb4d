// Fused (flash) vs unfused scaled-dot-product attention: forward and forward + backward at B·H = 32,
// L = 197 and 257, D = 64 and 80, median ms with min–max and peak memory, fused and unfused in one run.
// Standalone: `npm run build && node bench/attention.mjs [--runs=N] [--shapes=32x197x64,...] [--configs=16:16,8:16]
// [--interleave]` (--interleave: one forward + backward per variant in turn, N rounds, medians of wall and CPU)
// (--configs times the fused kernels under each KILN_ATTENTION=wg:bk candidate; --kiln=DIR loads Kiln from
// DIR/index.js instead of dist/). Beside wall time it reports process CPU time per run and GFLOP/s
// normalised by it (2·flops / CPU-seconds), which moves far less than wall time on a loaded machine. Not part of the tests.

import { fileURLToPath } from 'node:url';
import { timeIt } from './lib/cpu-timing.mjs';

/**
 * Times kiln.F.scaledDotProductAttention fused and unfused. opts: { runs = 5, shapes = [[BH, L, D], ...],
 * configs = [null] (fused-kernel candidates 'wg:bk'; null: the adapter default), log = console.log }.
 * Returns one row per shape, variant and pass.
 */
/** Random q, k, v (requiring grad) and an output gradient gy, [2, BH/2, L, D]. */
function attentionInputs(kiln, [BH, L, D]) {
  const shape = [2, BH / 2, L, D];
  const mk = () => kiln.randn(shape, { requiresGrad: true });
  return { q: mk(), k: mk(), v: mk(), gy: kiln.randn(shape) };
}

/** One attention forward + backward (fused unless `fused` is false), waited for; the gradients are freed. */
export async function forwardBackward(kiln, { q, k, v, gy }, fused) {
  const y = kiln.F.scaledDotProductAttention(q, k, v, { fused });
  y.backward(gy);
  await kiln.flush();
  y.dispose();
  for (const t of [q, k, v]) {
    t.grad?.dispose();
    t.grad = null;
  }
}

export async function benchAttention(kiln, opts = {}) {
  const runs = opts.runs ?? 5;
  const shapes = opts.shapes ?? [[32, 197, 64], [32, 257, 64], [32, 197, 80], [32, 257, 80]];
  const configs = opts.configs ?? [null];
  const log = opts.log ?? console.log;
  const rows = [];
  for (const [BH, L, D] of shapes) {
    const inputs = attentionInputs(kiln, [BH, L, D]);
    const { q, k, v, gy } = inputs;
    const variants = [...configs.map((c) => ({ name: c ? `fused ${c}` : 'fused', fused: true, config: c })), { name: 'unfused', fused: false, config: null }];
    for (const vr of variants) {
      if (vr.config) process.env.KILN_ATTENTION = vr.config;
      else delete process.env.KILN_ATTENTION;
      const fwd = await timeIt(kiln, runs, async () => {
        const y = kiln.noGrad(() => kiln.F.scaledDotProductAttention(q, k, v, { fused: vr.fused }));
        await kiln.flush();
        y.dispose();
      });
      const both = await timeIt(kiln, runs, () => forwardBackward(kiln, inputs, vr.fused));
      const flops = 4 * BH * L * L * D; // two matmuls of 2·L·L·D each (backward: five more)
      const row = { shape: `${BH}x${L}x${D}`, variant: vr.name, fwd, fwdBwd: both, fwdGflops: flops / fwd.median / 1e6, fwdCpuGflops: flops / fwd.cpuMs / 1e6, bothCpuGflops: (flops * 3.5) / both.cpuMs / 1e6 };
      rows.push(row);
      const f = (s) => `${s.median.toFixed(1)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)}), cpu ${s.cpuMs.toFixed(0)} ms, peak ${s.peakMiB.toFixed(1)} MiB`;
      log(`B·H=${BH} L=${L} D=${D} ${vr.name.padEnd(12)} forward ${f(fwd)} [${row.fwdCpuGflops.toFixed(2)} GFLOP/cpu-s] | forward+backward ${f(both)} [${row.bothCpuGflops.toFixed(2)}]`);
    }
    delete process.env.KILN_ATTENTION;
    for (const t of [q, k, v, gy]) t.dispose();
  }
  return rows;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Interleaved A/B timing: each variant { name, run } runs once as a warm-up, then `rounds` times in turn
 * (A B C A B C …), so load that drifts over the minutes hits every variant alike. `run()` must wait for its
 * GPU work. Returns per variant { name, wallMs, cpuMs } (medians) and the raw lists.
 */
export async function interleaved(kiln, variants, rounds) {
  const wall = variants.map(() => []);
  const cpu = variants.map(() => []);
  for (const v of variants) await v.run();
  for (let r = 0; r < rounds; r++) {
    for (const [i, v] of variants.entries()) {
      await kiln.flush();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await v.run();
      wall[i].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[i].push((c.user + c.system) / 1000);
    }
  }
  return variants.map((v, i) => ({ name: v.name, wallMs: median(wall[i]), cpuMs: median(cpu[i]), wall: wall[i], cpu: cpu[i] }));
}

/**
 * Fused (under each KILN_ATTENTION candidate in `opts.configs`, null = the default) vs unfused forward +
 * backward, interleaved (`opts.runs` rounds, default 7). Logs median wall and CPU ms and fused ÷ unfused.
 */
export async function benchAttentionInterleaved(kiln, opts = {}) {
  const rounds = opts.runs ?? 7;
  const shapes = opts.shapes ?? [[32, 197, 64], [32, 257, 64], [32, 197, 80], [32, 257, 80]];
  const configs = opts.configs ?? [null];
  const log = opts.log ?? console.log;
  const out = [];
  for (const [BH, L, D] of shapes) {
    const inputs = attentionInputs(kiln, [BH, L, D]);
    const step = (fused, config) => () => {
      if (config) process.env.KILN_ATTENTION = config;
      else delete process.env.KILN_ATTENTION;
      return forwardBackward(kiln, inputs, fused);
    };
    const variants = [...configs.map((c) => ({ name: c ? `fused ${c}` : 'fused', run: step(true, c) })), { name: 'unfused', run: step(false, null) }];
    const res = await interleaved(kiln, variants, rounds);
    delete process.env.KILN_ATTENTION;
    const un = res.at(-1);
    for (const r of res) {
      log(`B·H=${BH} L=${L} D=${D} ${r.name.padEnd(14)} fwd+bwd wall ${r.wallMs.toFixed(1)} ms, cpu ${r.cpuMs.toFixed(1)} ms; ÷ unfused: wall ${(r.wallMs / un.wallMs).toFixed(2)}, cpu ${(r.cpuMs / un.cpuMs).toFixed(2)} (${rounds} rounds)`);
      out.push({ shape: `${BH}x${L}x${D}`, ...r });
    }
    for (const t of Object.values(inputs)) t.dispose();
  }
  return out;
}

function parseArgs(argv) {
  const get = (k) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  return {
    runs: get('runs') ? Number(get('runs')) : undefined,
    shapes: get('shapes')?.split(',').map((s) => s.split('x').map(Number)),
    configs: get('configs')?.split(',').map((c) => (c === 'default' ? null : c)),
    kiln: get('kiln'),
    interleave: argv.includes('--interleave'),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const os = await import('node:os');
  const args = parseArgs(process.argv.slice(2));
  const kiln = await import(args.kiln ? new URL(`file://${args.kiln}/index.js`).href : '../dist/index.js');
  const info = await kiln.init();
  console.log(`attention fused vs unfused: ${info.vendor} ${info.architecture} (${info.description}); load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  await (args.interleave ? benchAttentionInterleaved : benchAttention)(kiln, args);
  process.exit(0);
}
