// Inference precision side by side: encode throughput, weight memory and cosine to f32 for f32 / f16 /
// int8 (kiln.quantize.dynamic) — ImageBind tiny and small (vision encode, batch 8) and CLIP ViT-B/32 image
// encode at batch 1 and 16, all with the same random weights (the f16 model loads the f32 state dict, cast;
// int8 quantises the f32 model's Linear layers). Each timing reads the embedding back (median, min–max).
// Standalone: `npm run build && node bench/precision.mjs [--sizes=tiny,small] [--runs=3] [--no-clip] [--batches=1,16]`
// (`--sizes=` skips ImageBind).
// Not part of the tests; figures in bench/NOTES.md.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CONFIGS = new URL('../src/models/configs/', import.meta.url);
const readConfig = (file) => JSON.parse(readFileSync(new URL(file, CONFIGS), 'utf8'));

/** Bytes of a model's parameters and buffers as stored (f16: 2 per element; f32, u32, i32: 4). */
function weightBytes(model) {
  let n = 0;
  for (const t of [...model.parameters(), ...model.buffers()]) n += t.numel() * (t.dtype === 'f16' ? 2 : t.dtype === 'bool' ? 1 : 4);
  return n;
}

function minRowCosine(a, b, E) {
  let worst = 1;
  for (let r = 0; r < a.length / E; r++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = r * E; i < (r + 1) * E; i++) {
      ab += a[i] * b[i];
      aa += a[i] * a[i];
      bb += b[i] * b[i];
    }
    worst = Math.min(worst, ab / Math.sqrt(aa * bb));
  }
  return worst;
}

/**
 * For one model family: builds f32 (`make('f32')`), then the f16 and int8 variants from its weights, and
 * times `encode(model, x)` at each batch. Returns rows { model, precision, batch, weightMiB, ..., cosine }.
 */
async function compare(kiln, name, make, input, encode, batches, runs, log) {
  const rows = [];
  kiln.manualSeed(0);
  const f32 = make('f32');
  const hasF16 = kiln.deviceInfo().features.includes('shader-f16');
  // loadStateDict takes ownership of what it is given: each variant gets copies of the f32 weights.
  const weights = () => new Map([...f32.stateDict()].map(([k, t]) => [k, t.clone()]));
  const variants = [['f32', () => f32]];
  if (hasF16) variants.push(['f16', () => { const m = make('f16'); m.loadStateDict(weights()); return m; }]);
  variants.push(['int8', () => { const m = make('f32'); m.loadStateDict(weights()); return kiln.quantize.dynamic(m); }]);
  const refs = new Map();
  const inputs = new Map(batches.map((B) => [B, input(B)])); // the same inputs for every precision
  for (const [precision, build] of variants) {
    const model = build();
    const mib = weightBytes(model) / 2 ** 20;
    for (const B of batches) {
      const x = inputs.get(B);
      const xin = precision === 'f16' && x.dtype === 'f32' ? x.cast('f16') : x;
      const out = () => encode(model, xin).cast('f32');
      const r = await kiln.bench(() => kiln.noGrad(out), { runs, warmup: 1 });
      const y = kiln.noGrad(out);
      const data = await y.data();
      const E = y.shape[y.ndim - 1];
      y.dispose();
      if (precision === 'f32') refs.set(B, data);
      const cosine = minRowCosine(refs.get(B), data, E);
      const row = { model: name, precision, batch: B, weightMiB: mib, medianMs: r.median, minMs: r.min, maxMs: r.max, samplesPerS: (B * 1000) / r.median, cosine };
      rows.push(row);
      log(`  ${precision.padEnd(5)} batch ${String(B).padStart(2)}  weights ${mib.toFixed(1).padStart(7)} MiB  ${r.median.toFixed(1).padStart(9)} ms (${r.min.toFixed(1)}–${r.max.toFixed(1)})  ${row.samplesPerS.toFixed(2).padStart(8)} samples/s  min cos to f32 ${cosine.toFixed(5)}`);
      if (xin !== x) xin.dispose();
    }
    if (model !== f32) model.dispose();
  }
  f32.dispose();
  for (const x of inputs.values()) x.dispose();
  if (!hasF16) log('  (f16 skipped: the adapter lacks shader-f16)');
  return rows;
}

/** opts: { sizes: ['tiny', 'small'] (ImageBind; [] for none), runs: 3, clip: true, batches: [1, 16] (CLIP), log }. */
export async function benchPrecision(kiln, opts = {}) {
  const log = opts.log ?? ((s) => console.log(s));
  const runs = opts.runs ?? 3;
  const rows = [];
  for (const size of (opts.sizes ?? ['tiny', 'small']).filter(Boolean)) {
    const c = kiln.models.imageBindConfig(readConfig(`imagebind_${size}.json`));
    log(`ImageBind ${size}, vision encode`);
    const make = (dtype) => new kiln.models.ImageBindModel(c, { dtype }).eval();
    rows.push(...(await compare(kiln, `imagebind_${size}`, make, (B) => kiln.randn([B, 3, c.vision.imageSize, c.vision.imageSize]), (m, x) => m.encode('vision', x), [8], runs, log)));
  }
  if (opts.clip ?? true) {
    const c = kiln.models.clipConfig(readConfig('clip_vit_b_32.json'));
    log('CLIP ViT-B/32, image encode');
    const make = (dtype) => new kiln.models.ClipModel(c, { dtype }).eval();
    rows.push(...(await compare(kiln, 'clip_vit_b_32', make, (B) => kiln.randn([B, 3, c.vision.imageSize, c.vision.imageSize]), (m, x) => m.encodeImage(x), opts.batches ?? [1, 16], runs, log)));
  }
  return rows;
}

function parseArgs(argv) {
  const get = (k) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  return { sizes: get('sizes')?.split(','), batches: get('batches')?.split(',').map(Number), runs: get('runs') ? Number(get('runs')) : undefined, clip: !argv.includes('--no-clip') };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const kiln = await import('../dist/index.js');
  const info = await kiln.init();
  console.log(`precision: ${info.vendor} ${info.architecture} (${info.description}); packed int8 dot: ${kiln.quantize.hasPackedDot()}`);
  await benchPrecision(kiln, parseArgs(process.argv.slice(2)));
  process.exit(0);
}
