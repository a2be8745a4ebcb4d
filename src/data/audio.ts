// ImageBind's audio input: WAV bytes → 16 kHz mono → clips of 2 s spread evenly over the file → Kaldi
// log-mel [128, 204] per clip, zero-padded or cut at the end, normalised with the AudioSet statistics.
// Mirrors `load_and_transform_audio_data` in ImageBind's data.py; the filterbank runs on the GPU.

import { MAX_CLIPS } from '../kernels/fbank.js';
import { empty } from '../tensor/alloc.js';
import type { Tensor } from '../tensor/tensor.js';
import { FRAME_LENGTH, FRAME_SHIFT, LOG_FLOOR, SAMPLE_RATE, logMel, numFrames, waveTensor } from './fbank.js';
import { resample } from './resample.js';
import { decodeWav } from './wav.js';

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

/** (x·y) for a float64 `x` and a non-negative integer `y`, floored exactly (Python's int(Fraction(x)·y)). */
function floorTimes(x: number, y: number): number {
  if (x === 0 || y === 0) return 0;
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
  const room = Math.max(samples / rate - clipDuration, 0);
  const parts = Math.max(clips - 1, 1);
  // int(Fraction(room) / parts · i · rate), exactly: ⌊⌊a⌋ / p⌋ = ⌊a / p⌋ for an integer p
  return Array.from({ length: clips }, (_, i) => Math.floor(floorTimes(room, i * rate) / parts));
}

/**
 * Decodes a WAV file and builds ImageBind's audio input: [clipsPerFile, 1, numMelBins, targetLength] f32
 * (defaults [3, 1, 128, 204]), each clip `(logmel − mean) / std` with frames past a short clip's end
 * padded with log-mel 0.
 * @example const x = kiln.data.loadAudio(await fs.readFile('dog.wav'), { name: 'dog.wav' });
 */
export function loadAudio(bytes: Uint8Array | ArrayBuffer, opts: LoadAudioOptions = {}): Tensor {
  const clips = opts.clipsPerFile ?? 3;
  const mels = opts.numMelBins ?? 128;
  const target = opts.targetLength ?? 204;
  const duration = opts.clipDuration ?? 2;
  if (!Number.isInteger(clips) || clips < 1 || clips > MAX_CLIPS) throw new Error(`loadAudio: clipsPerFile must be an integer in 1..${MAX_CLIPS}, got ${clips}`);
  if (!Number.isInteger(target) || target < 1) throw new Error(`loadAudio: targetLength must be a positive integer, got ${target}`);
  const wav = decodeWav(bytes, { name: opts.name, channel: opts.channel });
  const samples = wav.sampleRate === SAMPLE_RATE ? wav.samples : resample(wav.samples, wav.sampleRate, SAMPLE_RATE);
  const starts = clipStarts(samples.length, clips, duration);
  const clipSamples = Math.round(duration * SAMPLE_RATE);
  // ImageBind also subtracts each clip's mean first; Kaldi's per-frame DC removal makes that a no-op.
  const counts = starts.map((s) => Math.min(numFrames(Math.min(clipSamples, samples.length - s)), target));
  const wave = waveTensor('loadAudio', samples);
  const out = empty([clips, 1, mels, target], 'f32', 'loadAudio');
  logMel(out, wave, { starts, counts, slots: target, length: FRAME_LENGTH, shift: FRAME_SHIFT }, mels, {
    strides: [mels * target, target, 1],
    mean: opts.mean ?? -4.268,
    std: opts.std ?? 9.138,
    floor: LOG_FLOOR,
  });
  wave.dispose();
  return out;
}
