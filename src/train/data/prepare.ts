// The main-thread half of a file-backed sample: its decode job (with the colour jitter and audio noise drawn
// from the sample's randomness) for the workers, then the GPU preprocessing of what they decoded — random
// resized crop and flip or resize + center crop, the audio filterbank, tokenization — and the data-quality
// filters. Everything random comes from hash(seed, epoch, sample key), so workers and resumes see the same.

import { type Tensor, data, type text, tensor } from '../../public.js';
import { type InputSpec, hash32, uniformStream } from '../dataset.js';
import type { DataAugment, DataFilters } from './kinds.js';
import type { RawFile, RawSample } from './sources.js';

export interface PrepareOptions {
  readonly seed: number;
  readonly inputs: Readonly<Record<string, InputSpec>>;
  readonly tokenizer: text.Tokenizer;
  /** null in evaluation: no augmentation. */
  readonly augment: DataAugment | null;
  readonly filters: DataFilters;
}

/** Why a sample is not used: skipped (a file problem) or filtered (a quality filter), with a message. */
export interface Rejection {
  readonly kind: 'skipped' | 'filtered';
  readonly reason: string;
  readonly message: string;
}

/** A prepared sample: a GPU tensor per non-text modality and the token ids of the text. */
export type Prepared = Record<string, Tensor | Int32Array>;

const IMAGE = new Set(['image', 'vision']);

/** The sample's random streams, one per use, from (seed, epoch, key). */
function stream(o: PrepareOptions, epoch: number, s: RawSample, use: number): () => number {
  return uniformStream(hash32(o.seed, 0xda7a, epoch, use, ...s.key));
}

/** The decode job of a sample's files (`problem` set when one could not be read or has no decoder). */
export function decodeFiles(o: PrepareOptions, epoch: number, s: RawSample, files: readonly RawFile[]): { files: data.DecodeFile[] } | { problem: Rejection } {
  const out: data.DecodeFile[] = [];
  for (const f of files) {
    if (f.problem || !f.bytes) return { problem: { kind: 'skipped', reason: f.problem?.reason ?? 'missing', message: f.problem?.message ?? f.name } };
    const kind = f.modality === 'text' ? 'text' : data.decodeKind(f.ext);
    if (!kind) return { problem: { kind: 'skipped', reason: 'unsupported', message: `${f.name}: no decoder for .${f.ext} files` } };
    const a = o.augment;
    let jitter: data.JitterParams | undefined;
    if (a && a.colorJitter > 0 && kind === 'image') {
      // torchvision ColorJitter: each factor uniform in [1 − s, 1 + s], applied in a random order.
      const u = stream(o, epoch, s, 1);
      const f3 = [0, 1, 2].map(() => Math.max(0, 1 - a.colorJitter) + u() * (1 + a.colorJitter - Math.max(0, 1 - a.colorJitter)));
      const order = [0, 1, 2].map((i) => [i, u()] as const).sort((x, y) => x[1] - y[1]).map(([i]) => i);
      jitter = { brightness: f3[0]!, contrast: f3[1]!, saturation: f3[2]!, order };
    }
    const noise = a && a.audioNoise > 0 && kind === 'wav' ? { std: a.audioNoise, seed: hash32(o.seed, 0x401e, epoch, ...s.key) } : undefined;
    out.push({ modality: f.modality, kind, name: f.name, bytes: f.bytes, ...(jitter ? { jitter } : {}), ...(noise ? { noise } : {}) });
  }
  return { files: out };
}

/** torchvision RandomResizedCrop.get_params(scale, ratio (3/4, 4/3)): ten tries, then the ratio-clamped center crop. */
export function randomCropBox(w: number, h: number, scale: readonly [number, number], u: () => number): data.CropBox {
  const area = w * h;
  const [lr0, lr1] = [Math.log(3 / 4), Math.log(4 / 3)];
  for (let t = 0; t < 10; t++) {
    const target = area * (scale[0] + u() * (scale[1] - scale[0]));
    const aspect = Math.exp(lr0 + u() * (lr1 - lr0));
    const cw = Math.round(Math.sqrt(target * aspect));
    const ch = Math.round(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) return { top: Math.floor(u() * (h - ch + 1)), left: Math.floor(u() * (w - cw + 1)), width: cw, height: ch };
  }
  const ratio = w / h;
  const [cw, ch] = ratio < 3 / 4 ? [w, Math.round(w / (3 / 4))] : ratio > 4 / 3 ? [Math.round(h * (4 / 3)), h] : [w, h];
  return { top: Math.floor((h - ch) / 2), left: Math.floor((w - cw) / 2), width: cw, height: ch };
}

/** The centered square of side min(w, h): the flip-only transform's crop. */
function centerSquare(w: number, h: number): data.CropBox {
  const side = Math.min(w, h);
  return { left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2), width: side, height: side };
}

/** The largest pairwise gap between a sample's timestamps (0 with fewer than two). */
export function timeOffset(times: Readonly<Record<string, number>>): number {
  const t = Object.values(times);
  return t.length < 2 ? 0 : Math.max(...t) - Math.min(...t);
}

/** Tokens of a caption without SOT and EOT. */
export const captionTokens = (tok: text.Tokenizer, caption: string): number => tok.encode(caption).length;

/**
 * The model inputs of a decoded sample, or why it is not used. Tensors made before a rejection are freed.
 * Text comes from the decoded .txt file or from the manifest's captions (one drawn per epoch).
 */
export function prepare(o: PrepareOptions, epoch: number, s: RawSample, decoded: readonly data.DecodedFile[]): { inputs: Prepared } | Rejection {
  const out: Prepared = {};
  const free = (): void => {
    for (const v of Object.values(out)) if (!(v instanceof Int32Array)) v.dispose();
  };
  const reject = (r: Rejection): Rejection => (free(), r);
  const max = o.filters.maxTimeOffset;
  if (max !== null && timeOffset(s.times) > max)
    return { kind: 'filtered', reason: 'timeOffset', message: `${s.name}: its streams are ${timeOffset(s.times)} s apart (maxTimeOffset ${max} s)` };
  const captions = s.captions ?? decoded.flatMap((d) => (d.kind === 'text' ? [d.text] : []));
  if ('text' in o.inputs) {
    const usable = captions.filter((c) => captionTokens(o.tokenizer, c) >= o.filters.minCaptionTokens);
    if (usable.length === 0)
      return captions.length === 0
        ? reject({ kind: 'skipped', reason: 'incomplete', message: `${s.name}: no caption` })
        : reject({ kind: 'filtered', reason: 'captionTokens', message: `${s.name}: caption shorter than ${o.filters.minCaptionTokens} tokens` });
    const c = usable.length === 1 ? usable[0]! : usable[Math.floor(stream(o, epoch, s, 5)() * usable.length)]!;
    out['text'] = o.tokenizer.encodeBatch(c, o.inputs['text'].shape[0]);
  }
  try {
    for (const d of decoded) {
      const spec = o.inputs[d.modality];
      if (!spec || d.kind === 'text') continue;
      if (d.kind === 'image') {
        const img = { width: d.width, height: d.height, channels: 3, data: d.data };
        const size = spec.shape[1]!;
        const a = IMAGE.has(d.modality) ? o.augment : null;
        out[d.modality] = a?.cropScale
          ? data.resizedCrop(img, randomCropBox(d.width, d.height, a.cropScale, stream(o, epoch, s, 3)), size, a.flip && stream(o, epoch, s, 4)() < 0.5)
          : a?.flip
            ? data.resizedCrop(img, centerSquare(d.width, d.height), size, stream(o, epoch, s, 4)() < 0.5)
            : data.loadImage(img, { size, name: s.name });
      } else if (d.kind === 'wav') {
        if (o.filters.minSnrDb !== null && !(d.snrDb >= o.filters.minSnrDb))
          return reject({ kind: 'filtered', reason: 'snr', message: `${s.name}: SNR ${d.snrDb.toFixed(1)} dB < ${o.filters.minSnrDb} dB` });
        const [clips, , mels, frames] = spec.shape;
        const wav = { sampleRate: d.sampleRate, channels: 1, format: 'float' as const, bitsPerSample: 32, samples: d.samples };
        out[d.modality] = data.loadAudio(wav, { name: s.name, clipsPerFile: clips!, numMelBins: mels!, targetLength: frames! });
      } else {
        const values = d.modality === 'imu' && d.shape.length === 2 ? data.imuChannels(d.shape[0]!, d.shape[1]!, d.data, s.name) : d.data;
        const n = spec.shape.reduce((x, y) => x * y, 1);
        if (values.length !== n) return reject({ kind: 'skipped', reason: 'corrupt', message: `${s.name}: ${d.modality} has ${values.length} values, the model takes ${n} (${spec.shape.join('×')})` });
        out[d.modality] = tensor(values, { shape: [...spec.shape] });
      }
    }
  } catch (e) {
    return reject({ kind: 'skipped', reason: 'corrupt', message: `${s.name}: ${e instanceof Error ? e.message : String(e)}` });
  }
  for (const m of Object.keys(o.inputs))
    if (!(m in out)) return reject({ kind: 'skipped', reason: 'incomplete', message: `${s.name}: no ${m} file` });
  return { inputs: out };
}
