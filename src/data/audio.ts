// ImageBind's audio input: WAV bytes → 16 kHz mono → clips of 2 s spread evenly over the file → Kaldi
// log-mel [128, 204] per clip, zero-padded or cut at the end, normalised with the AudioSet statistics.
// Mirrors `load_and_transform_audio_data` in ImageBind's data.py; the filterbank runs on the GPU.

import { maxBinding } from '../kernels/windows.js';
import { MAX_CLIPS, SPECTRUM_BINS } from '../kernels/fbank.js';
import { empty } from '../tensor/alloc.js';
import type { Tensor } from '../tensor/tensor.js';
import { FRAME_LENGTH, FRAME_SHIFT, LOG_FLOOR, SAMPLE_RATE, logMel, numFrames, waveTensor } from './fbank.js';
import { intOption, numberOption } from './options.js';
import { resampleRange, resampledLength } from './resample.js';
import { type DecodedWav, decodeWav } from './wav.js';

export interface LoadAudioOptions {
  /** Used in error messages. */
  readonly name?: string;
  /** 'mean' (default) or one channel index; see DecodeWavOptions.channel. */
  readonly channel?: 'mean' | number;
  readonly numMelBins?: number;
  /** Frames per clip after padding or cutting. */
  readonly targetLength?: number;
  /** Seconds. */
  readonly clipDuration?: number;
  readonly clipsPerFile?: number;
  /** Normalize(mean, std) as ImageBind passes them: the AST AudioSet statistics (std already doubled). */
  readonly mean?: number;
  readonly std?: number;
}

/** (x·y) for a finite float64 `x` ≥ 0 and a non-negative integer `y`, floored exactly (Python's int(Fraction(x)·y)). */
function floorTimes(x: number, y: number): number {
  if (x === 0 || y === 0) return 0;
  if (!Number.isFinite(x) || x < 0) throw new Error(`clipStarts: ${x} is not a finite non-negative number`); // would never end below
  // x = mant·2^exp exactly, with an integer mantissa below 2^53
  let exp = Math.floor(Math.log2(x)) - 52;
  let mant = x / 2 ** exp;
  while (!Number.isInteger(mant)) {
    exp -= 1;
    mant = x / 2 ** exp;
  }
  const p = BigInt(mant) * BigInt(y);
  return exp >= 0 ? Number(p << BigInt(exp)) : Number(p >> BigInt(-exp));
}

/**
 * First sample of each clip, as pytorchvideo's ConstantClipsPerVideoSampler places them: clip i starts at
 * i·max(D − d, 0)/(k − 1) s (exact fractions of the float duration D), cut at int(start·rate).
 */
export function clipStarts(samples: number, clips: number, clipDuration: number, rate = SAMPLE_RATE): number[] {
  intOption('clipStarts', 'samples', samples, 0, 0, Number.MAX_SAFE_INTEGER);
  intOption('clipStarts', 'clips', clips, 1, 1, 1 << 20);
  numberOption('clipStarts', 'clipDuration', clipDuration, 2, { min: 0 });
  intOption('clipStarts', 'rate', rate, SAMPLE_RATE, 1, Number.MAX_SAFE_INTEGER);
  const room = Math.max(samples / rate - clipDuration, 0);
  const parts = Math.max(clips - 1, 1);
  // int(Fraction(room) / parts · i · rate), exactly: ⌊⌊a⌋ / p⌋ = ⌊a / p⌋ for an integer p
  return Array.from({ length: clips }, (_, i) => Math.floor(floorTimes(room, i * rate) / parts));
}

/**
 * Sample rates loadAudio resamples from: every real recording (8 kHz telephony to 768 kHz studio
 * converters) and well past; a rate outside is a corrupt or hostile header, refused before any work.
 */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 768000;
/** Mel bins at most: the 512-point spectrum has 257 bins, so more filters would be empty. */
const MAX_MEL_BINS = 256;

/**
 * Decodes a WAV file (or takes one decodeWav already decoded) and builds ImageBind's audio input: [clipsPerFile, 1, numMelBins, targetLength] f32
 * (defaults [3, 1, 128, 204]), each clip `(logmel − mean) / std` with frames past a short clip's end
 * padded with log-mel 0. Any common rate (8–96 kHz) is resampled exactly as torchaudio does; any integer
 * rate in MIN_SAMPLE_RATE..MAX_SAMPLE_RATE by the same filter in bounded memory. Only the samples the
 * clips' frames read are resampled and uploaded, so a file of any length costs the GPU a few clips.
 * @example const x = kiln.data.loadAudio(await fs.readFile('dog.wav'), { name: 'dog.wav' });
 */
export function loadAudio(bytes: Uint8Array | ArrayBuffer | DecodedWav, opts: LoadAudioOptions = {}): Tensor {
  const op = 'loadAudio';
  const clips = intOption(op, 'clipsPerFile', opts.clipsPerFile, 3, 1, MAX_CLIPS);
  const mels = intOption(op, 'numMelBins', opts.numMelBins, 128, 1, MAX_MEL_BINS);
  const target = intOption(op, 'targetLength', opts.targetLength, 204, 1, 1 << 20);
  const duration = numberOption(op, 'clipDuration', opts.clipDuration, 2, { min: 0, max: 86400, minOpen: true });
  const mean = numberOption(op, 'mean', opts.mean, -4.268, {});
  const std = numberOption(op, 'std', opts.std, 9.138, {});
  if (std === 0) throw new Error(`${op}: std must not be 0`);
  // The spectrum of every frame slot is one binding: refuse a layout that cannot fit before decoding.
  const limit = maxBinding(op);
  const specBytes = clips * target * SPECTRUM_BINS * 8;
  if (specBytes > limit)
    throw new Error(`${op}: clipsPerFile ${clips} × targetLength ${target} frames need a ${specBytes}-byte spectrum, over the ${limit}-byte binding limit`);
  // Already decoded (a decode worker's output, the trainer's augmented waveform): used as is.
  const wav = bytes instanceof Uint8Array || bytes instanceof ArrayBuffer ? decodeWav(bytes, { name: opts.name, channel: opts.channel }) : bytes;
  const rate = wav.sampleRate;
  if (rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE)
    throw new Error(`${op}: ${opts.name ?? '<wav>'} declares a sample rate of ${rate} Hz; supported rates are ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} Hz`);
  const total = resampledLength(wav.samples.length, rate, SAMPLE_RATE);
  const starts = clipStarts(total, clips, duration);
  const clipSamples = Math.round(duration * SAMPLE_RATE);
  // ImageBind also subtracts each clip's mean first; Kaldi's per-frame DC removal makes that a no-op.
  const counts = starts.map((s) => Math.min(numFrames(Math.min(clipSamples, total - s)), target));
  // Each clip's frames read [start, start + span): only those samples are resampled, packed end to end.
  const spans = counts.map((c) => (c > 0 ? (c - 1) * FRAME_SHIFT + FRAME_LENGTH : 0));
  const packed = new Float32Array(Math.max(spans.reduce((a, b) => a + b, 0), 1));
  const local: number[] = [];
  let at = 0;
  starts.forEach((s, c) => {
    local.push(at);
    packed.set(resampleRange(wav.samples, rate, SAMPLE_RATE, s, s + spans[c]!), at);
    at += spans[c]!;
  });
  const wave = waveTensor(op, packed);
  let out: Tensor | null = null;
  try {
    out = empty([clips, 1, mels, target], 'f32', op);
    logMel(out, wave, { starts: local, counts, slots: target, length: FRAME_LENGTH, shift: FRAME_SHIFT }, mels, {
      strides: [mels * target, target, 1],
      mean,
      std,
      floor: LOG_FLOOR,
    });
  } catch (e) {
    out?.dispose();
    throw e;
  } finally {
    wave.dispose();
  }
  return out;
}
