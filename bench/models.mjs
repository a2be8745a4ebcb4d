// Model throughput with random weights: ImageBind (small, tiny) encode samples/s per modality, and CLIP
// ViT-B/32 image-encode latency at batch 1 and 16; each timing reads the embedding back (median, min–max).
// Standalone: `npm run build && node bench/models.mjs [--sizes=tiny,small] [--runs=5] [--batch=8] [--no-clip]`.
// Exports benchModels(kiln, opts).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CONFIGS = new URL('../src/models/configs/', import.meta.url);
const readConfig = (file) => JSON.parse(readFileSync(new URL(file, CONFIGS), 'utf8'));

/** Random inputs of one batch for modality `m` of an ImageBind config. */
function inputFor(kiln, c, m, B) {
  switch (m) {
    case 'vision':
      return kiln.randn([B, 3, c.vision.imageSize, c.vision.imageSize]);
    case 'text': {
      const L = c.text.contextLength;
      const ids = new Int32Array(B * L);
      for (let b = 0; b < B; b++) {
        ids[b * L] = c.text.vocabSize - 2;
        for (let i = 1; i < 10 && i < L - 1; i++) ids[b * L + i] = 1 + ((b * 31 + i * 7) % (c.text.vocabSize - 3));
        ids[b * L + Math.min(10, L - 1)] = c.text.vocabSize - 1;
      }
      return kiln.tensor(ids, { shape: [B, L], dtype: 'i32' });
    }
    case 'audio':
      return kiln.randn([B, 1, c.audio.numMelBins, c.audio.targetLen]);
    case 'depth':
    case 'thermal':
      return kiln.randn([B, 1, c[m].imageSize, c[m].imageSize]);
    case 'imu':
      return kiln.randn([B, c.imu.channels, c.imu.numSamples]);
    default:
      throw new Error(`unknown modality ${m}`);
  }
}

/** kiln.bench of `fn` (which returns a tensor, read back and disposed): `runs` runs after one warm-up. */
async function time(kiln, fn, runs) {
  const r = await kiln.bench(() => kiln.noGrad(fn), { runs, warmup: 1 });
  return { medianMs: r.median, minMs: r.min, maxMs: r.max, runs: r.runs };
}

/**
 * Runs the model benchmarks; `opts`: { sizes: ['tiny', 'small'], runs: 5, batch: 8, clip: true, log }.
 * Returns rows { model, modality|batch, medianMs, minMs, maxMs, samplesPerS }.
 */
export async function benchModels(kiln, opts = {}) {
  const log = opts.log ?? ((s) => console.log(s));
  const runs = opts.runs ?? 5;
  const B = opts.batch ?? 8;
  const rows = [];
  for (const size of opts.sizes ?? ['tiny', 'small']) {
    kiln.manualSeed(0);
    const config = kiln.models.imageBindConfig(readConfig(`imagebind_${size}.json`));
    const model = new kiln.models.ImageBindModel(config).eval();
    log(`ImageBind ${size}: ${(model.numParameters() / 1e6).toFixed(1)} M parameters, batch ${B}`);
    for (const m of kiln.models.MODALITIES) {
      const x = inputFor(kiln, config, m, B);
      const t = await time(kiln, () => model.encode(m, x), runs);
      x.dispose();
      const row = { model: `imagebind_${size}`, modality: m, batch: B, ...t, samplesPerS: (B * 1000) / t.medianMs };
      rows.push(row);
      log(`  ${m.padEnd(8)} ${t.medianMs.toFixed(1).padStart(9)} ms (${t.minMs.toFixed(1)}–${t.maxMs.toFixed(1)})  ${row.samplesPerS.toFixed(1).padStart(8)} samples/s`);
    }
    model.dispose();
  }
  if (opts.clip ?? true) {
    kiln.manualSeed(0);
    const config = kiln.models.clipConfig(readConfig('clip_vit_b_32.json'));
    const model = new kiln.models.ClipModel(config).eval();
    log(`CLIP ViT-B/32: ${(model.numParameters() / 1e6).toFixed(1)} M parameters, image encode latency`);
    for (const b of [1, 16]) {
      const x = kiln.randn([b, 3, config.vision.imageSize, config.vision.imageSize]);
      const t = await time(kiln, () => model.encodeImage(x), runs);
      x.dispose();
      const row = { model: 'clip_vit_b_32', modality: 'vision', batch: b, ...t, samplesPerS: (b * 1000) / t.medianMs };
      rows.push(row);
      log(`  batch ${String(b).padStart(2)} ${t.medianMs.toFixed(1).padStart(9)} ms (${t.minMs.toFixed(1)}–${t.maxMs.toFixed(1)})  ${row.samplesPerS.toFixed(1).padStart(8)} images/s`);
    }
    model.dispose();
  }
  return rows;
}

function parseArgs(argv) {
  const get = (k) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  return {
    sizes: get('sizes')?.split(','),
    runs: get('runs') ? Number(get('runs')) : undefined,
    batch: get('batch') ? Number(get('batch')) : undefined,
    clip: !argv.includes('--no-clip'),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const kiln = await import('../dist/index.js');
  const info = await kiln.init();
  console.log(`models, encode throughput with random weights: ${info.vendor} ${info.architecture} (${info.description})`);
  await benchModels(kiln, parseArgs(process.argv.slice(2)));
  process.exit(0);
}
