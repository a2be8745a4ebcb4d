// The CPU half of the training data pipeline, the same code on a worker thread, a Web Worker or inline:
// one sample's files decoded (PNG/JPEG → RGB bytes, WAV → float samples, .npy and numeric CSV → floats,
// text → a string), its colour jitter and audio noise applied from parameters the caller drew, and an SNR
// estimate for the audio filter. Every result's buffers are listed for transfer. No GPU, no Node built-ins.

import { decodeImage } from '../decode.js';
import { readCsv } from '../imu.js';
import { readNpy } from '../npy.js';
import { decodeWav } from '../wav.js';

/** How a file is decoded, from its extension (decodeKind). */
export type DecodeKind = 'image' | 'wav' | 'npy' | 'csv' | 'text';

/** torchvision ColorJitter's drawn parameters: factors and the order they apply in (0 brightness, 1 contrast, 2 saturation). */
export interface JitterParams {
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly order: readonly number[];
}

export interface DecodeFile {
  readonly modality: string;
  readonly kind: DecodeKind;
  /** Named in errors. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Images: colour jitter to apply. */
  readonly jitter?: JitterParams;
  /** Audio: Gaussian noise of this standard deviation, from this seed, added after the SNR estimate. */
  readonly noise?: { readonly std: number; readonly seed: number };
}

export interface DecodeJob {
  readonly id: number;
  readonly files: readonly DecodeFile[];
}

export type DecodedFile =
  | { readonly modality: string; readonly kind: 'image'; readonly width: number; readonly height: number; readonly data: Uint8Array }
  | { readonly modality: string; readonly kind: 'wav'; readonly sampleRate: number; readonly samples: Float32Array; readonly snrDb: number }
  | { readonly modality: string; readonly kind: 'array'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly modality: string; readonly kind: 'text'; readonly text: string };

export type DecodeResult = { readonly id: number; readonly ok: true; readonly files: readonly DecodedFile[] } | { readonly id: number; readonly ok: false; readonly error: string };

const KINDS: Readonly<Record<string, DecodeKind>> = { png: 'image', jpg: 'image', jpeg: 'image', wav: 'wav', npy: 'npy', csv: 'csv', txt: 'text', text: 'text', caption: 'text' };

/** The decode kind of a file extension (last part after a dot, lower case), or null when none applies. */
export function decodeKind(ext: string): DecodeKind | null {
  return KINDS[ext.slice(ext.lastIndexOf('.') + 1).toLowerCase()] ?? null;
}

/** ITU-R 601 luma as PIL's convert('L') computes it (16-bit fixed point, rounded). */
const luma = (r: number, g: number, b: number): number => (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;

/** PIL's Image.blend(degenerate, img, f) on 8-bit samples: degenerate + f·(img − degenerate), truncated, clipped. */
function blend(px: Uint8Array, degenerate: (i: number) => number, f: number): void {
  for (let i = 0; i < px.length; i++) {
    const d = degenerate(i);
    const v = Math.trunc(d + f * (px[i]! - d));
    px[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/** torchvision's ColorJitter on a PIL RGB image (ImageEnhance Brightness, Contrast, Color) in `order`, in place. */
export function colorJitter(px: Uint8Array, p: JitterParams): void {
  const n = px.length / 3;
  for (const op of p.order) {
    if (op === 0) blend(px, () => 0, p.brightness);
    else if (op === 1) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += luma(px[3 * i]!, px[3 * i + 1]!, px[3 * i + 2]!);
      const mean = Math.trunc(sum / n + 0.5); // ImageEnhance.Contrast: the rounded mean of the L histogram
      blend(px, () => mean, p.contrast);
    } else if (op === 2) {
      const grey = new Uint8Array(n);
      for (let i = 0; i < n; i++) grey[i] = luma(px[3 * i]!, px[3 * i + 1]!, px[3 * i + 2]!);
      blend(px, (i) => grey[Math.floor(i / 3)]!, p.saturation);
    }
  }
}

/**
 * The SNR of a waveform in dB, estimated from frame energies: the mean square of non-overlapping 25 ms
 * frames (DC removed), noise power = the mean of the quietest 10 % of frames, signal power = the mean of all
 * frames less that noise. 10·log10(signal / noise); −Infinity for silence, +Infinity for a noiseless floor.
 * Stationary sounds (a steady tone, hum) read as noise: the estimate suits events and speech over a floor.
 */
export function estimateSnrDb(x: Float32Array, sampleRate: number): number {
  const frame = Math.max(1, Math.round(0.025 * sampleRate));
  const frames = Math.floor(x.length / frame);
  if (frames < 1) return -Infinity;
  let mean = 0;
  for (let i = 0; i < frames * frame; i++) mean += x[i]!;
  mean /= frames * frame;
  const energy = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let e = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) e += (x[i]! - mean) ** 2;
    energy[f] = e / frame;
  }
  const all = energy.reduce((a, b) => a + b, 0) / frames;
  energy.sort();
  const q = Math.max(1, Math.floor(frames / 10));
  const noise = energy.subarray(0, q).reduce((a, b) => a + b, 0) / q;
  const signal = all - noise;
  if (signal <= 0) return -Infinity;
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

/** Standard normals from a 32-bit seed (xorshift32 uniforms, Box–Muller): the noise needs no shared state. */
function gaussians(seed: number, n: number): Float32Array {
  let s = seed >>> 0 || 0x6d2b79f5;
  const u = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

function decodeFile(f: DecodeFile): DecodedFile {
  const m = f.modality;
  switch (f.kind) {
    case 'image': {
      const img = decodeImage(f.bytes, { name: f.name });
      const data = img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength ? img.data : img.data.slice();
      if (f.jitter) colorJitter(data, f.jitter);
      return { modality: m, kind: 'image', width: img.width, height: img.height, data };
    }
    case 'wav': {
      const w = decodeWav(f.bytes, { name: f.name });
      const samples = w.samples.slice();
      const snrDb = estimateSnrDb(samples, w.sampleRate);
      if (f.noise && f.noise.std > 0) {
        const g = gaussians(f.noise.seed, samples.length);
        for (let i = 0; i < samples.length; i++) samples[i]! += f.noise.std * g[i]!;
      }
      return { modality: m, kind: 'wav', sampleRate: w.sampleRate, samples, snrDb };
    }
    case 'npy': {
      const a = readNpy(f.bytes, f.name);
      return { modality: m, kind: 'array', shape: a.shape, data: Float32Array.from(a.data) };
    }
    case 'csv': {
      const c = readCsv(new TextDecoder('utf-8', { fatal: true }).decode(f.bytes), f.name);
      return { modality: m, kind: 'array', shape: [c.rows, c.cols], data: Float32Array.from(c.data) };
    }
    case 'text':
      return { modality: m, kind: 'text', text: new TextDecoder('utf-8', { fatal: true }).decode(f.bytes).trim() };
    default:
      return f.kind satisfies never;
  }
}

/** Decodes one sample's files; a failure (corrupt file) is a result, not a throw, so workers never die of it. */
export function decodeJob(job: DecodeJob): DecodeResult {
  try {
    return { id: job.id, ok: true, files: job.files.map(decodeFile) };
  } catch (e) {
    return { id: job.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The buffers of a job or result to transfer (not copy) between threads. */
export function transferables(x: DecodeJob | DecodeResult): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: Uint8Array | Float32Array): void => {
    if (a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  };
  if ('files' in x)
    for (const f of x.files) {
      if ('bytes' in f) add(f.bytes);
      else if (f.kind === 'image' || f.kind === 'array') add(f.data);
      else if (f.kind === 'wav') add(f.samples);
    }
  return [...out];
}
