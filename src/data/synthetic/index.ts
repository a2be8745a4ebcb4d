// kiln.data.synthetic: a deterministic six-modality dataset generated on the fly from a seed — scenes of
// discrete attributes rendered into an image, a disparity map, a thermal map, a WAV clip (through the real
// loadAudio → fbank path), an IMU trace and a caption (through the real tokenizer). Implements the trainer's
// Dataset interface; nothing is downloaded and nothing is written to disk.

import type { Dataset, InputSpec, Sample } from '../../train/dataset.js';
import { type Tokenizer, defaultTokenizer } from '../../text/index.js';
import { FRAME_LENGTH, FRAME_SHIFT } from '../fbank.js';
import { loadAudio } from '../audio.js';
import { intOption } from '../options.js';
import { CAPTION_TEMPLATES, SAMPLE_RATE, coverage, encodeWav, fillTemplate, place, renderDepth, renderImage, renderImu, renderThermal, renderWave, sceneWords } from './render.js';
import { ATTRIBUTES, type Attribute, CARRIES, Rng, STREAM, type Scene, SYNTHETIC_MODALITIES, type SyntheticModality, classCount, classWords, key, sampleScene } from './scene.js';

export { ATTRIBUTES, CARRIES, SYNTHETIC_MODALITIES, sharedAttributes, classOf, classCount, classWords, type Attribute, type Scene, type SyntheticModality } from './scene.js';
export { CAPTION_TEMPLATES, encodeWav, fillTemplate } from './render.js';

export interface SyntheticOptions {
  /** Samples in the split. */
  readonly size: number;
  readonly seed?: number;
  /** 'train' or 'heldout': the two draw their scenes from separate streams of the same seed. */
  readonly split?: 'train' | 'heldout';
  /** Side of the image, depth and thermal maps (default 32). */
  readonly imageSize?: number;
  /** Caption tokens per sample (default 16). */
  readonly contextLength?: number;
  /** Audio log-mel bins and frames (default 32 × 48, about half a second). */
  readonly numMelBins?: number;
  readonly targetLength?: number;
  /** IMU samples per channel (default 64). */
  readonly imuSamples?: number;
  /** The modalities samples carry (default all six); audio is prepared only when asked for. */
  readonly modalities?: readonly SyntheticModality[];
  /** Default: kiln.text.defaultTokenizer(), the shipped BPE vocabulary. */
  readonly tokenizer?: Tokenizer;
}

/** Tokens (without start and end) of the longest caption any scene and template can give. */
function longestCaption(tokenizer: Tokenizer): number {
  const attrs = Object.keys(ATTRIBUTES) as Attribute[];
  let most = 0;
  for (let c = 0; c < classCount(attrs); c++) for (const t of CAPTION_TEMPLATES) most = Math.max(most, tokenizer.encode(fillTemplate(t, classWords(c, attrs))).length);
  return most;
}

/** A split of synthetic scenes; build it with `kiln.data.synthetic(options)`. */
export class SyntheticDataset implements Dataset {
  readonly inputs: Readonly<Record<string, InputSpec>>;
  /** Which attributes each modality carries (see CARRIES). */
  readonly carries = CARRIES;

  private constructor(
    readonly size: number,
    readonly seed: number,
    readonly split: 'train' | 'heldout',
    readonly modalities: readonly SyntheticModality[],
    private readonly dims: { image: number; context: number; mels: number; frames: number; imu: number },
    private readonly tokenizer: Tokenizer,
    private readonly scenes: readonly Scene[],
    /** Log-mel features per sample [1, mels, frames], computed once from each sample's WAV file. */
    private readonly audio: readonly Float32Array[],
  ) {
    const all: Record<SyntheticModality, InputSpec> = {
      vision: { shape: [3, dims.image, dims.image], dtype: 'f32' },
      text: { shape: [dims.context], dtype: 'i32', vocab: tokenizer.vocabSize },
      audio: { shape: [1, dims.mels, dims.frames], dtype: 'f32' },
      depth: { shape: [1, dims.image, dims.image], dtype: 'f32' },
      thermal: { shape: [1, dims.image, dims.image], dtype: 'f32' },
      imu: { shape: [6, dims.imu], dtype: 'f32' },
    };
    this.inputs = Object.fromEntries(modalities.map((m) => [m, all[m]]));
  }

  /** @internal Use kiln.data.synthetic(). */
  static async create(opts: SyntheticOptions): Promise<SyntheticDataset> {
    const op = 'synthetic';
    const size = intOption(op, 'size', opts.size, 0, 1, 1 << 24);
    const seed = intOption(op, 'seed', opts.seed, 0, 0, 0xffffffff);
    const split = opts.split ?? 'train';
    if (split !== 'train' && split !== 'heldout') throw new Error(`${op}: split must be 'train' or 'heldout', got ${JSON.stringify(split)}`);
    const dims = {
      image: intOption(op, 'imageSize', opts.imageSize, 32, 8, 1024),
      context: intOption(op, 'contextLength', opts.contextLength, 24, 8, 77),
      mels: intOption(op, 'numMelBins', opts.numMelBins, 32, 8, 128),
      frames: intOption(op, 'targetLength', opts.targetLength, 48, 8, 1024),
      imu: intOption(op, 'imuSamples', opts.imuSamples, 64, 8, 4096),
    };
    const modalities = opts.modalities ?? SYNTHETIC_MODALITIES;
    for (const m of modalities) if (!SYNTHETIC_MODALITIES.includes(m)) throw new Error(`${op}: unknown modality ${JSON.stringify(m)} (known: ${SYNTHETIC_MODALITIES.join(', ')})`);
    const tokenizer = opts.tokenizer ?? (await defaultTokenizer());
    if (modalities.includes('text')) {
      const need = longestCaption(tokenizer) + 2; // with the start and end tokens
      if (dims.context < need) throw new Error(`${op}: contextLength ${dims.context} would cut captions short: the longest needs ${need} tokens with this tokenizer (start and end included)`);
    }
    const splitTag = split === 'train' ? STREAM.train : STREAM.heldOut;
    const scenes = Array.from({ length: size }, (_, i) => sampleScene(seed, splitTag, i));
    const audio = modalities.includes('audio') ? await audioFeatures(scenes, seed, splitTag, dims.mels, dims.frames) : [];
    return new SyntheticDataset(size, seed, split, modalities, dims, tokenizer, scenes, audio);
  }

  /** The scene of sample `index` (fixed across epochs). */
  scene(index: number): Scene {
    this.check(index);
    return this.scenes[index]!;
  }

  /** The caption of sample `index` in `epoch` (the template is drawn per epoch). */
  caption(index: number, epoch: number): string {
    const r = new Rng(key(this.seed, this.splitTag(), STREAM.render, epoch, index, 0x7e47));
    return fillTemplate(CAPTION_TEMPLATES[r.int(CAPTION_TEMPLATES.length)]!, sceneWords(this.scene(index)));
  }

  /** Token ids of texts with this dataset's tokenizer and context length ([n·contextLength] i32). */
  tokenize(texts: readonly string[]): Int32Array {
    return this.tokenizer.encodeBatch(texts, this.dims.context);
  }

  get(index: number, epoch: number): Sample {
    const scene = this.scene(index);
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`synthetic: epoch must be an integer ≥ 0, got ${epoch}`);
    const r = new Rng(key(this.seed, this.splitTag(), STREAM.render, epoch, index));
    const p = place(scene, r);
    const s = this.dims.image;
    const out: Record<string, Float32Array | Int32Array> = {};
    let plain: Float32Array | null = null; // the coverage without trail, shared by depth and thermal
    const plainCoverage = (): Float32Array => (plain ??= coverage(scene, p, s, false));
    for (const m of this.modalities) {
      switch (m) {
        case 'vision':
          out[m] = renderImage(scene, p, s, r);
          break;
        case 'depth':
          out[m] = renderDepth(scene, plainCoverage(), s, r);
          break;
        case 'thermal':
          out[m] = renderThermal(scene, plainCoverage(), s, r);
          break;
        case 'imu':
          out[m] = renderImu(scene, this.dims.imu, r);
          break;
        case 'text':
          out[m] = this.tokenize([this.caption(index, epoch)]);
          break;
        case 'audio':
          out[m] = augmentAudio(this.audio[index]!, this.dims.frames, r);
          break;
        default:
          throw new Error(`synthetic: unknown modality ${String(m satisfies never)}`);
      }
    }
    return out;
  }

  private splitTag(): number {
    return this.split === 'train' ? STREAM.train : STREAM.heldOut;
  }

  private check(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new Error(`synthetic: index ${index} out of range [0, ${this.size})`);
  }
}

/**
 * Builds a split of synthetic scenes; audio features are prepared up front (the fbank runs on the GPU, so
 * `kiln.init()` must have been awaited when the samples carry audio).
 * @example const train = await kiln.data.synthetic({ size: 2048, seed: 0 }); const s = train.get(0, 0);
 */
export function synthetic(opts: SyntheticOptions): Promise<SyntheticDataset> {
  return SyntheticDataset.create(opts);
}

/** Each sample's WAV bytes through loadAudio (one clip of exactly `frames` frames), read back in chunks. */
async function audioFeatures(scenes: readonly Scene[], seed: number, split: number, mels: number, frames: number): Promise<Float32Array[]> {
  const seconds = (FRAME_LENGTH + (frames - 1) * FRAME_SHIFT) / SAMPLE_RATE;
  const out: Float32Array[] = [];
  const CHUNK = 64;
  for (let start = 0; start < scenes.length; start += CHUNK) {
    const ts = scenes.slice(start, start + CHUNK).map((scene, j) => {
      const wav = encodeWav(renderWave(scene, seconds, new Rng(key(seed, split, STREAM.audio, start + j))));
      return loadAudio(wav, { name: `synthetic/${start + j}.wav`, numMelBins: mels, targetLength: frames, clipDuration: seconds, clipsPerFile: 1 });
    });
    try {
      for (const d of await Promise.all(ts.map((t) => t.data()))) out.push(Float32Array.from(d));
    } finally {
      for (const t of ts) t.dispose();
    }
  }
  return out;
}

/** Per-epoch audio augmentation: a circular shift of up to 4 frames and a little noise on the log-mels. */
function augmentAudio(feat: Float32Array, frames: number, r: Rng): Float32Array {
  const shift = r.int(9) - 4;
  const out = new Float32Array(feat.length);
  for (let i = 0; i < feat.length; i++) {
    const row = Math.floor(i / frames);
    const t = (i % frames) - shift;
    out[i] = feat[row * frames + ((t + frames) % frames)]! + 0.02 * r.normal();
  }
  return out;
}
