// Kaldi-compatible log-mel filterbank features on the GPU, as torchaudio.compliance.kaldi.fbank computes
// them with ImageBind's arguments (16 kHz, 25 ms Hanning frames every 10 ms, snip edges, no dither, power
// spectrum, no energy). The constant tables are built here in float64; the per-frame work is two kernels.

import { type FrameLayout, type MelOutput, SPECTRUM_BINS, runMel, runSpectrum } from '../kernels/fbank.js';
import { maxBinding } from '../kernels/windows.js';
import { empty } from '../tensor/alloc.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { intOption } from './options.js';

export const SAMPLE_RATE = 16000;
/** 25 ms and 10 ms at 16 kHz. */
export const FRAME_LENGTH = 400;
export const FRAME_SHIFT = 160;
const FFT_SIZE = 512;
const PREEMPHASIS = 0.97;
const LOW_FREQ = 20;
/** torch.finfo(torch.float32).eps: Kaldi's log floor. */
export const LOG_FLOOR = 1.1920928955078125e-7;

/** Frames Kaldi takes from `n` samples with snip_edges: only whole frames. */
export function numFrames(n: number): number {
  return n < FRAME_LENGTH ? 0 : 1 + Math.floor((n - FRAME_LENGTH) / FRAME_SHIFT);
}

const melScale = (f: number): number => 1127 * Math.log(1 + f / 700);

/**
 * Kaldi's triangular mel filters over the 257 bins of a 512-point spectrum at 16 kHz, 20 Hz to Nyquist:
 * weights [mels, 257] (the Nyquist bin always 0, as in torchaudio) and each filter's nonzero bin range.
 */
export function melBanks(mels: number): { weights: Float32Array; bands: Uint32Array } {
  const lo = melScale(LOW_FREQ);
  const hi = melScale(SAMPLE_RATE / 2);
  const delta = (hi - lo) / (mels + 1);
  const binWidth = SAMPLE_RATE / FFT_SIZE;
  const weights = new Float32Array(mels * SPECTRUM_BINS);
  const bands = new Uint32Array(mels * 2);
  for (let m = 0; m < mels; m++) {
    const left = lo + m * delta;
    const center = left + delta;
    const right = center + delta;
    let first = -1;
    let last = -1;
    for (let k = 0; k < FFT_SIZE / 2; k++) {
      const mel = melScale(binWidth * k);
      const w = Math.max(0, Math.min((mel - left) / (center - left), (right - mel) / (right - center)));
      weights[m * SPECTRUM_BINS + k] = w;
      if (w > 0) {
        if (first < 0) first = k;
        last = k;
      }
    }
    bands[2 * m] = first < 0 ? 0 : first;
    bands[2 * m + 1] = first < 0 ? 0 : last + 1;
  }
  return { weights, bands };
}

/** Kaldi's "hanning" window (symmetric): 0.5 − 0.5·cos(2πn / (N − 1)). */
function hanning(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
}

/** e^(−2πik/512) for k = 0..256, interleaved re, im. */
function twiddles(): Float32Array {
  const t = new Float32Array(2 * (FFT_SIZE / 2 + 1));
  for (let k = 0; k <= FFT_SIZE / 2; k++) {
    t[2 * k] = Math.cos((2 * Math.PI * k) / FFT_SIZE);
    t[2 * k + 1] = -Math.sin((2 * Math.PI * k) / FFT_SIZE);
  }
  return t;
}

/** The 257-bin complex spectrum of frames of `wave` ([clips·slots, 257, 2] f32), optionally Kaldi-preprocessed. */
export function spectrum(wave: Tensor, F: FrameLayout, preprocess = true): Tensor {
  const win = tensor(hanning(F.length));
  const tw = tensor(twiddles());
  try {
    const spec = empty([F.slots * F.starts.length, SPECTRUM_BINS, 2], 'f32', 'fbank');
    try {
      runSpectrum(spec.operand('fbank'), wave.operand('fbank'), win.operand('fbank'), tw.operand('fbank'), F, PREEMPHASIS, preprocess);
    } catch (e) {
      spec.dispose();
      throw e;
    }
    return spec;
  } finally {
    win.dispose();
    tw.dispose();
  }
}

/** Log-mel features of the frames of `wave` written into `out` through `O`'s strides (see runMel). */
export function logMel(out: Tensor, wave: Tensor, F: FrameLayout, mels: number, O: MelOutput): void {
  const { weights, bands } = melBanks(mels);
  const made: Tensor[] = [];
  try {
    const w = tensor(weights);
    made.push(w);
    const b = tensor(bands, { dtype: 'u32' });
    made.push(b);
    const spec = spectrum(wave, F);
    made.push(spec);
    runMel(out.operand('fbank'), spec.operand('fbank'), w.operand('fbank'), b.operand('fbank'), F, mels, O);
  } finally {
    for (const t of made) t.dispose(); // also when a launch throws partway: nothing is left live
  }
}

/** A 1-D f32 contiguous tensor of the samples. */
export function waveTensor(op: string, wave: Tensor | Float32Array): Tensor {
  if (wave instanceof Float32Array) return tensor(wave);
  if (wave.ndim !== 1 || wave.dtype !== 'f32') throw new Error(`${op}: expected a 1-D f32 waveform, got shape [${wave.shape.join(', ')}] (${wave.dtype})`);
  return wave.contiguous();
}

/**
 * Kaldi log-mel filterbank of a 16 kHz mono waveform (floats in [−1, 1]) as torchaudio computes it with
 * ImageBind's arguments: `kaldi.fbank(w, htk_compat=True, sample_frequency=16000, use_energy=False,
 * window_type='hanning', num_mel_bins=128, dither=0.0, frame_length=25, frame_shift=10)`.
 * Returns [frames, numMelBins] f32, frames = 1 + ⌊(n − 400) / 160⌋ (0 when n < 400).
 * @example const feats = kiln.data.fbank(samples); // [frames, 128]
 */
export function fbank(wave: Tensor | Float32Array, opts: { numMelBins?: number } = {}): Tensor {
  const mels = intOption('fbank', 'numMelBins', opts.numMelBins, 128, 1, 256);
  const n = wave instanceof Float32Array ? wave.length : (wave.shape[0] ?? 0);
  const frames = numFrames(n);
  // Refused before any GPU work: a waveform or spectrum that cannot be bound.
  const limit = maxBinding('fbank');
  if (n * 4 > limit || frames * SPECTRUM_BINS * 8 > limit)
    throw new Error(`fbank: ${n} samples (${frames} frames) exceed the ${limit}-byte binding limit of one launch; pass at most ${Math.floor(limit / (SPECTRUM_BINS * 8)) * FRAME_SHIFT} samples at a time`);
  const w = waveTensor('fbank', wave);
  let out: Tensor | null = null;
  try {
    out = empty([frames, mels], 'f32', 'fbank');
    const F: FrameLayout = { starts: [0], counts: [frames], slots: frames, length: FRAME_LENGTH, shift: FRAME_SHIFT };
    logMel(out, w, F, mels, { strides: [0, 1, mels], mean: 0, std: 1, floor: LOG_FLOOR });
  } catch (e) {
    out?.dispose();
    throw e;
  } finally {
    if (w !== wave) w.dispose();
  }
  return out;
}
