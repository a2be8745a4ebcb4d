// Every matmul kernel variant forced in turn (kiln.forceKernel, the same mechanism a tuned or default choice
// goes through): the reference kernel, the register-blocked candidates and the workgroup-memory tiled
// kernel's tiles, in f32 and f16, at square sizes; median wall ms with min–max, GFLOP/s, and GFLOP per
// process CPU-second (steadier than wall time on a loaded CPU adapter). Each result is checked against the
// default choice's. Standalone, meant for a GPU machine as well as the software adapter:
//   npm run build && node bench/matmul-variants.mjs [--sizes=256,1024] [--runs=N] [--dtypes=f32,f16]
//     [--variants=wg,tiled,subgroup,naive] [--kiln=DIR]
// Variants an adapter cannot run (subgroup sizes, workgroup storage, shader-f16) are listed as skipped.

import { fileURLToPath } from 'node:url';
import { benchWithCpu } from './lib/cpu-timing.mjs';

/** The configurations, from the build's own candidate lists. */
async function variants(dir, kinds) {
  const mm = await import(`${dir}/kernels/matmul.js`);
  const wg = await import(`${dir}/kernels/matmul-wg.js`);
  const all = [mm.naiveMatmulConfig, ...mm.matmulCandidates, ...wg.wgMatmulCandidates];
  return { mm, list: all.filter((c) => kinds.includes(c.kernel)) };
}

const label = (c) => (c.kernel === 'wg' ? `wg ${c.bm}x${c.bn}x${c.bk} ${c.tm}x${c.tn}` : `${c.kernel} ${c.wg}/${c.tm}/${c.tn}`);

/** opts: { sizes, runs, dtypes, kinds, dir, log }. Returns one row per size, dtype and variant. */
export async function benchMatmulVariants(kiln, opts) {
  const { mm, list } = await variants(opts.dir, opts.kinds);
  const log = opts.log ?? console.log;
  const rows = [];
  for (const dtype of opts.dtypes) {
    if (dtype === 'f16' && !kiln.deviceInfo().features.includes('shader-f16')) {
      log('f16: skipped (no shader-f16 on this adapter)');
      continue;
    }
    for (const n of opts.sizes) {
      const input = () => kiln.tidy(() => (dtype === 'f16' ? kiln.randn([n, n]).half() : kiln.randn([n, n])));
      const [a, b] = [input(), input()];
      kiln.forceKernel('matmul', null);
      const ref = await kiln.matmul(a, b).data();
      for (const c of list) {
        if (!mm.matmulConfigUsable(c)) {
          log(`${dtype} n=${n} ${label(c).padEnd(22)} skipped: this adapter cannot run it`);
          continue;
        }
        if (c.kernel === 'naive' && n > 1024) continue; // minutes per run on a CPU adapter
        kiln.forceKernel('matmul', c);
        let last = null;
        const r = await benchWithCpu(kiln, async () => {
          const y = kiln.matmul(a, b);
          await kiln.flush();
          last?.dispose();
          last = y;
        }, { runs: opts.runs, warmup: 1 });
        const got = await last.data();
        last.dispose();
        let err = 0;
        let norm = 0;
        for (let i = 0; i < got.length; i++) {
          err += (got[i] - ref[i]) ** 2;
          norm += ref[i] ** 2;
        }
        const flops = 2 * n ** 3;
        const row = { dtype, n, variant: label(c), config: c, ms: r.median, min: r.min, max: r.max, gflops: flops / r.median / 1e6, cpuGflops: flops / r.cpuMs / 1e6, relErr: Math.sqrt(err / norm) };
        rows.push(row);
        log(`${dtype} n=${n} ${row.variant.padEnd(22)} ${r.median.toFixed(1).padStart(8)} ms (${r.min.toFixed(0)}–${r.max.toFixed(0)})  ${row.gflops.toFixed(2).padStart(8)} GFLOP/s  ${row.cpuGflops.toFixed(2).padStart(7)} GFLOP/cpu-s  vs default ${row.relErr.toExponential(1)}`);
      }
      kiln.forceKernel('matmul', null);
      a.dispose();
      b.dispose();
    }
  }
  return rows;
}

function parseArgs(argv) {
  const get = (k) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  const list = (k, d) => (get(k) ?? d).split(',').map((s) => s.trim()).filter(Boolean);
  return {
    sizes: list('sizes', '256,512,1024').map(Number),
    runs: Number(get('runs') ?? 5),
    dtypes: list('dtypes', 'f32,f16'),
    kinds: list('variants', 'naive,subgroup,tiled,wg'),
    kiln: get('kiln'),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const os = await import('node:os');
  const args = parseArgs(process.argv.slice(2));
  const dir = args.kiln ? new URL(`file://${args.kiln}`).href : new URL('../dist', import.meta.url).href;
  const kiln = await import(`${dir}/index.js`);
  const info = await kiln.init();
  console.log(`matmul variants: ${info.vendor} ${info.architecture} (${info.description}); adapter kind ${kiln.kernelChoices().adapterKind}; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  await benchMatmulVariants(kiln, { ...args, dir });
  process.exit(0);
}
