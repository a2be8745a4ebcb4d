// `kiln embed`: one embedding per input file, in the order given, from a trained model (a LoRA export, a
// Kiln checkpoint, or a weights file with its config), batched on the GPU, written as .npy (float32 [N, E])
// or .jsonl ({"file", "embedding"} per line). Unreadable inputs are all reported by name and nothing is written.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../io/atomic.js';
import * as kiln from '../node.js';
import { type Command, type CommandIo, UsageError } from './command.js';

const usage = `usage: kiln embed --checkpoint <dir|file> --modality <m> [options] <files…> --out <emb.npy|emb.jsonl>

Embeds each input file with a trained model, in the order given: one row per input.

  --checkpoint <path>   a LoRA export (<out>/export, or its adapter.safetensors: the base model is built and
                        loaded from its metadata and the adapters merged in), a Kiln checkpoint directory
                        (checkpoints/step-N), or a weights file (.safetensors, .pth) with --config
  --modality <m>        CLIP: image, text; ImageBind: vision (or image), text, audio, thermal
  --out <file>          .npy (float32 [N, E]) or .jsonl ({"file": …, "embedding": […]} per line)
  --config <name|file>  the model config of a weights file: clip_vit_b_32, imagebind_huge, … or a JSON file
  --base-weights <file> a LoRA export's base weights, instead of the path stored in it
  --tokenizer <file>    text: a merges file (CLIP's bpe_simple_vocab_16e6.txt.gz for real CLIP weights);
                        default Kiln's own, which fits models trained with it
  --batch-size N        inputs per GPU batch (default 32)
  --raw                 the model's output as is (default: L2-normalised, as retrieval compares them)
  --precision P         f32 (default); f16: weights cast to f16 as they load (half the memory; needs the
                        adapter feature shader-f16); int8: f32 weights, then every Linear outside attention
                        dynamically quantised to int8 (kiln.quantize.dynamic)

Text inputs are UTF-8 files, one text each. A file that cannot be read or decoded is reported by name;
if any is, nothing is written and the exit status is 1.`;

const PRECISIONS = ['f32', 'f16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

interface Options {
  readonly checkpoint: string;
  readonly modality: string;
  readonly out: string;
  readonly config: string | null;
  readonly baseWeights: string | null;
  readonly tokenizer: string | null;
  readonly batchSize: number;
  readonly raw: boolean;
  readonly precision: Precision;
  readonly files: readonly string[];
}

function parse(args: readonly string[]): Options {
  let parsed: ReturnType<typeof parseArgs<{ options: Record<string, { type: 'string' | 'boolean' }>; allowPositionals: true; strict: true; args: string[] }>>;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { checkpoint: { type: 'string' }, modality: { type: 'string' }, out: { type: 'string' }, config: { type: 'string' }, 'base-weights': { type: 'string' }, tokenizer: { type: 'string' }, 'batch-size': { type: 'string' }, raw: { type: 'boolean' }, precision: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const s = (k: string): string | null => (typeof v[k] === 'string' ? v[k] : null);
  for (const k of ['checkpoint', 'modality', 'out']) if (s(k) === null) throw new UsageError(`--${k} is required`);
  const out = s('out')!;
  if (!out.endsWith('.npy') && !out.endsWith('.jsonl')) throw new UsageError(`--out: expected a .npy or .jsonl file, got ${JSON.stringify(out)}`);
  const bs = s('batch-size') ?? '32';
  const batchSize = Number(bs);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size: expected a positive integer, got ${JSON.stringify(bs)}`);
  const precision = s('precision') ?? 'f32';
  if (!(PRECISIONS as readonly string[]).includes(precision)) throw new UsageError(`--precision: expected f32, f16 or int8, got ${JSON.stringify(precision)}`);
  if (parsed.positionals.length === 0) throw new UsageError('no input files given');
  return { checkpoint: s('checkpoint')!, modality: s('modality')!, out, config: s('config'), baseWeights: s('base-weights'), tokenizer: s('tokenizer'), batchSize, raw: v['raw'] === true, precision: precision as Precision, files: parsed.positionals };
}

/** How one file becomes a model input [1?, …] and how a batch of them becomes embeddings [B, E]. */
interface Embedder {
  load(file: string): Promise<kiln.Tensor>;
  embed(batch: kiln.Tensor): kiln.Tensor;
}

async function embedder(m: kiln.train.InferenceModel, modality: string, tokenizer: string | null): Promise<Embedder> {
  const tokens = async (): Promise<(text: string) => Int32Array> => {
    const tok = tokenizer === null ? await kiln.text.defaultTokenizer() : await kiln.text.Tokenizer.fromMergesFile(tokenizer);
    const c = m.config.text;
    const vocab = 'vocabSize' in c ? c.vocabSize : Infinity;
    if (tok.eotTokenId >= vocab) throw new UsageError(`--tokenizer: its end token id ${tok.eotTokenId} is outside the model's vocabulary of ${vocab}; pass the tokenizer the model was trained with`);
    return (t) => tok.encodeBatch(t.trim(), c.contextLength);
  };
  const text = async (file: string, enc: (t: string) => Int32Array): Promise<kiln.Tensor> => {
    const ids = enc(await readFile(file, 'utf8'));
    return kiln.tensor(ids, { shape: [ids.length] });
  };
  if (m instanceof kiln.models.ClipModel) {
    if (modality === 'image' || modality === 'vision') {
      const size = m.config.vision.imageSize;
      return { load: async (f) => kiln.data.loadImage(await readFile(f), { name: f, size }), embed: (x) => m.encodeImage(x) };
    }
    if (modality === 'text') {
      const enc = await tokens();
      return { load: (f) => text(f, enc), embed: (x) => m.encodeText(x) };
    }
    throw new UsageError(`--modality: CLIP has image and text, got ${JSON.stringify(modality)}`);
  }
  const c = m.config;
  switch (modality) {
    case 'image':
    case 'vision':
      return { load: async (f) => kiln.data.loadImage(await readFile(f), { name: f, size: c.vision.imageSize }), embed: (x) => m.encode('vision', x) };
    case 'text': {
      const enc = await tokens();
      return { load: (f) => text(f, enc), embed: (x) => m.encode('text', x) };
    }
    case 'audio':
      return { load: async (f) => kiln.data.loadAudio(await readFile(f), { name: f, numMelBins: c.audio.numMelBins, targetLength: c.audio.targetLen }), embed: (x) => m.encode('audio', x) };
    case 'thermal':
      return { load: async (f) => kiln.data.loadThermal(await readFile(f), { name: f, size: c.thermal.imageSize }), embed: (x) => m.encode('thermal', x) };
    default:
      throw new UsageError(`--modality: kiln embed reads vision (image), text, audio and thermal files for ImageBind, got ${JSON.stringify(modality)}`);
  }
}

/** Progress on a TTY (a bar redrawn in place) or as plain lines, one per batch. */
function progress(total: number, io: CommandIo): (done: number) => void {
  const t0 = performance.now();
  const tty = process.stderr.isTTY ? process.stderr : null;
  return (done) => {
    const secs = (performance.now() - t0) / 1000;
    const rate = done / Math.max(secs, 1e-9);
    const text = `embedded ${done}/${total} inputs, ${rate.toFixed(1)}/s, ETA ${Math.ceil((total - done) / Math.max(rate, 1e-9))} s`;
    if (!tty) return io.out(text);
    const width = 30;
    const n = Math.round((width * done) / total);
    tty.write(`\r[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${text}\x1b[K${done === total ? '\n' : ''}`);
  };
}

/** float32 [rows, cols] as NumPy's .npy (format 1.0, little-endian, C order). */
export function npyBytes(data: Float32Array, rows: number, cols: number): Uint8Array[] {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n'; // the preamble + header is a multiple of 64
  const pre = new Uint8Array(10);
  pre.set([0x93, ...Array.from('NUMPY', (ch) => ch.charCodeAt(0)), 1, 0]);
  new DataView(pre.buffer).setUint16(8, header.length, true);
  return [pre, new TextEncoder().encode(header), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}

/** Throws when the adapter cannot run `precision`: f16 needs shader-f16 (f32 is never substituted silently). */
export function checkPrecision(precision: Precision, info: Pick<kiln.DeviceInfo, 'features' | 'description' | 'vendor'>): void {
  if (precision === 'f16' && !info.features.includes('shader-f16'))
    throw new Error(`--precision f16 needs the adapter feature 'shader-f16', which this adapter (${info.description || info.vendor || 'unknown'}) lacks; run with --precision f32 (or int8) instead`);
}

/** The model at the asked precision: f16 weights cast as they load, or f32 weights quantised to int8. */
async function loadModel(o: Options): Promise<kiln.train.InferenceModel> {
  checkPrecision(o.precision, kiln.deviceInfo());
  const { model } = await kiln.train.loadForInference(o.checkpoint, { config: o.config, baseWeights: o.baseWeights, dtype: o.precision === 'f16' ? 'f16' : 'f32' });
  if (o.precision === 'int8') kiln.quantize.dynamic(model);
  return model;
}

async function run(o: Options, io: CommandIo): Promise<number> {
  await kiln.init();
  const model = await loadModel(o);
  try {
    const e = await embedder(model, o.modality, o.tokenizer);
    const rows: Float32Array[] = [];
    const bad: string[] = [];
    const tick = progress(o.files.length, io);
    for (let start = 0; start < o.files.length; start += o.batchSize) {
      const inputs: kiln.Tensor[] = [];
      for (const f of o.files.slice(start, start + o.batchSize)) {
        try {
          inputs.push(await e.load(f));
        } catch (err) {
          bad.push(`${f}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (inputs.length > 0) {
        const emb = kiln.tidy(() =>
          kiln.noGrad(() => {
            const x = kiln.stack(inputs);
            // Float inputs (pixels, fbanks) in the weights' dtype; token ids stay i32. Rows are written as f32.
            const y = e.embed(o.precision === 'f16' && x.dtype === 'f32' ? x.cast('f16') : x).cast('f32');
            return o.raw ? y : kiln.F.normalize(y, { dim: -1 });
          }),
        );
        const [, E] = emb.shape as [number, number];
        const d = await emb.data();
        for (let i = 0; i < inputs.length; i++) rows.push(Float32Array.from(d.subarray(i * E, (i + 1) * E)));
        emb.dispose();
        for (const t of inputs) t.dispose();
      }
      tick(Math.min(o.files.length, start + o.batchSize));
    }
    if (bad.length > 0) {
      for (const b of bad) io.err(`kiln embed: cannot read ${b}`);
      io.err(`kiln embed: ${bad.length} of ${o.files.length} inputs could not be read; nothing written`);
      return 1;
    }
    const E = rows[0]!.length;
    if (o.out.endsWith('.npy')) {
      const all = new Float32Array(rows.length * E);
      rows.forEach((r, i) => all.set(r, i * E));
      await writeFileAtomic(o.out, npyBytes(all, rows.length, E), 'kiln embed');
    } else {
      const text = rows.map((r, i) => `${JSON.stringify({ file: o.files[i], embedding: Array.from(r) })}\n`).join('');
      await writeFileAtomic(o.out, [new TextEncoder().encode(text)], 'kiln embed');
    }
    io.out(`kiln embed: ${rows.length} embeddings of dimension ${E} → ${o.out}`);
    return 0;
  } finally {
    model.dispose();
  }
}

export const embed: Command = {
  name: 'embed',
  summary: 'embed image, text or audio files with a trained model (a LoRA export, a checkpoint or weights) into .npy or .jsonl',
  usage,
  async run(args, io) {
    return run(parse(args), io);
  },
};
