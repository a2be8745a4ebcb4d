// A CLIP training step in f32 and in f16-mixed (kiln.autocast + kiln.amp.GradScaler), side by side: median
// wall time of forward + backward + unscale + AdamW step + scale update (each run ends with a readback),
// peak GPU memory, and what stays f32 (parameters, gradients, AdamW moments) against the activations.
// Standalone: `npm run build && node bench/mixed-precision.mjs [--runs=5] [--batch=8] [--config=bench|tiny]`.

import { fileURLToPath } from 'node:url';

/** A small CLIP (ViT towers, width 192, 2 layers, 16 tokens): f16 visible, yet minutes on a busy lavapipe. */
const BENCH_CONFIG = {
  family: 'clip', name: 'bench', embedDim: 96, activation: 'gelu',
  vision: { imageSize: 32, patchSize: 8, width: 192, layers: 2, heads: 3, mlpRatio: 4 },
  text: { contextLength: 16, vocabSize: 1000, width: 192, heads: 3, layers: 2, mlpRatio: 4 },
};

const MiB = 2 ** 20;

export async function benchMixedPrecision(kiln, opts = {}) {
  const log = opts.log ?? ((s) => console.log(s));
  const runs = opts.runs ?? 5;
  const B = opts.batch ?? 8;
  const config = opts.config === 'tiny' ? await kiln.models.loadClipConfig('tiny') : BENCH_CONFIG;
  if (!kiln.deviceInfo().features.includes('shader-f16')) {
    log('mixed precision: this adapter lacks shader-f16; skipped');
    return [];
  }
  const rows = [];
  for (const precision of ['f32', 'f16-mixed']) {
    kiln.manualSeed(0);
    const model = new kiln.models.ClipModel(config);
    const params = model.parameters();
    const opt = new kiln.optim.AdamW(params, { lr: 1e-4 });
    opt.foundInf = kiln.zeros([]);
    const scaler = precision === 'f16-mixed' ? new kiln.amp.GradScaler() : null;
    const images = kiln.randn([B, 3, config.vision.imageSize, config.vision.imageSize]);
    const L = config.text.contextLength;
    const ids = kiln.tensor(Int32Array.from({ length: B * L }, (_, i) => (i % L === L - 1 ? config.text.vocabSize - 1 : (i * 7) % (config.text.vocabSize - 1))), { shape: [B, L], dtype: 'i32' });
    const step = () =>
      kiln.tidy(() => {
        const forward = () => {
          const out = model.forward(images, ids);
          return kiln.F.infoNCE(out.imageFeatures, out.textFeatures, out.logitScale);
        };
        const loss = scaler ? kiln.autocast('f16', forward) : forward();
        (scaler ? scaler.scale(loss) : loss).backward();
        if (scaler) {
          scaler.step(opt);
          scaler.update();
        } else opt.step();
        opt.zeroGrad();
        return loss;
      });
    // Warm-up (pipelines, pool), then memory of one step, then timed runs.
    (await (async () => { const l = step(); await l.data(); l.dispose(); })());
    await kiln.flush();
    const persistent = kiln.memory().liveBytes; // parameters + AdamW moments + step counts (all f32)
    kiln.resetPeakMemory();
    const l = step();
    await l.data();
    l.dispose();
    const peak = kiln.memory().peakBytes;
    const r = await kiln.bench(step, { runs, warmup: 1 });
    const paramBytes = params.reduce((a, p) => a + p.numel() * 4, 0);
    const row = { precision, batch: B, config: config.name, medianMs: r.median, minMs: r.min, maxMs: r.max, peakMiB: peak / MiB, persistentMiB: persistent / MiB, paramsMiB: paramBytes / MiB, gradsMiB: paramBytes / MiB, transientMiB: (peak - persistent) / MiB };
    rows.push(row);
    log(`  ${precision.padEnd(9)} ${r.median.toFixed(1).padStart(8)} ms (${r.min.toFixed(1)}–${r.max.toFixed(1)})  peak ${row.peakMiB.toFixed(1)} MiB = ` +
      `persistent f32 ${row.persistentMiB.toFixed(1)} (params ${row.paramsMiB.toFixed(1)} + moments) + step ${row.transientMiB.toFixed(1)} (f32 grads ${row.gradsMiB.toFixed(1)}, activations, casts)`);
    for (const t of [images, ids, opt.foundInf]) t.dispose();
    opt.dispose();
    scaler?.dispose();
    model.dispose();
  }
  return rows;
}

function parseArgs(argv) {
  const get = (k) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  return { runs: get('runs') ? Number(get('runs')) : undefined, batch: get('batch') ? Number(get('batch')) : undefined, config: get('config') };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const kiln = await import('../dist/node.js');
  const info = await kiln.init();
  console.log(`mixed precision, one CLIP training step: ${info.vendor} ${info.architecture} (${info.description})`);
  await benchMixedPrecision(kiln, parseArgs(process.argv.slice(2)));
  process.exit(0);
}
