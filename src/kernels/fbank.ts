// Launchers for the Kaldi filterbank: framing + real FFT (fbank_spectrum after fft512), then mel filters,
// log, pad and normalise (fbank_mel). The tables (window, twiddles, mel weights) are the caller's.

import { dispatch, grid } from '../device/batch.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { wgslFile } from './source.js';

const fftLib = wgslFile('fft512', new URL('./wgsl/fft512.wgsl', import.meta.url));
const spectrumSrc = wgslFile('fbank_spectrum', new URL('./wgsl/fbank_spectrum.wgsl', import.meta.url));
const melSrc = wgslFile('fbank_mel', new URL('./wgsl/fbank_mel.wgsl', import.meta.url));

/** Bins of the 512-point real spectrum. */
export const SPECTRUM_BINS = 257;
/** Clips one launch can hold (the uniform block keeps their starts and frame counts). */
export const MAX_CLIPS = 16;

/** Frame slots grouped by clip: slot t of clip c starts at sample starts[c] + t·shift; t < counts[c] exist. */
export interface FrameLayout {
  readonly starts: readonly number[];
  readonly counts: readonly number[];
  readonly slots: number;
  /** Samples per frame (≤ 512; zero-padded to 512). */
  readonly length: number;
  readonly shift: number;
}

function checkLayout(F: FrameLayout): void {
  if (F.starts.length !== F.counts.length || F.starts.length > MAX_CLIPS)
    throw new Error(`fbank: ${F.starts.length} clip starts and ${F.counts.length} counts (at most ${MAX_CLIPS} clips)`);
  if (F.length < 1 || F.length > 512) throw new Error(`fbank: frame length ${F.length} is not in 1..512`);
}

/**
 * spec [clips·slots, 257] complex (vec2 f32) ← frames of `wave` (f32): DC removal, pre-emphasis `preemph`
 * and the window `win` (f32 [≥ length]) unless `preprocess` is false; `tw` is f32 [257, 2] = e^(−2πik/512).
 */
export function runSpectrum(spec: Operand, wave: Operand, win: Operand, tw: Operand, F: FrameLayout, preemph: number, preprocess = true): void {
  checkLayout(F);
  const frames = F.slots * F.starts.length;
  if (frames === 0) return;
  const u = new UniformWriter()
    .u32(F.slots, F.starts.length, F.length, F.shift)
    .f32(preemph).u32(0, 0, 0)
    .vecU32(F.starts.map((s) => s + wave.offset), 16).vecU32(F.counts, 16);
  dispatch({
    kernel: {
      name: `fbank_spectrum${preprocess ? '' : ':raw'}`,
      code: fftLib.text() + spectrumSrc.text(),
      bindings: ['write', 'read', 'read', 'read', 'uniform'],
      overrides: { PREPROCESS: preprocess ? 1 : 0 },
    },
    buffers: [whole(spec), whole(wave), whole(win), whole(tw)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(frames / 64)),
  });
}

/** Where log-mel values go: out[offset + c·clip + m·mel + t·frame] = (log-mel − mean) / std. */
export interface MelOutput {
  readonly strides: readonly [clip: number, mel: number, frame: number];
  readonly mean: number;
  readonly std: number;
  /** The log floor: energies below it are raised to it. */
  readonly floor: number;
}

/**
 * out ← normalised log mel energies of `spec`; `weights` f32 [mels, 257] and `bands` u32 [mels, 2] (the
 * nonzero bin range of each filter). Frame slots past a clip's count are written as log-mel 0.
 */
export function runMel(out: Operand, spec: Operand, weights: Operand, bands: Operand, F: FrameLayout, mels: number, O: MelOutput): void {
  checkLayout(F);
  const n = F.slots * mels * F.starts.length;
  if (n === 0) return;
  const u = new UniformWriter()
    .u32(F.slots, F.starts.length, mels, 0)
    .u32(O.strides[0], O.strides[1], O.strides[2], out.offset)
    .f32(O.mean, O.std, O.floor).u32(0)
    .vecU32(F.counts, 16);
  dispatch({
    kernel: { name: 'fbank_mel', code: melSrc.text(), bindings: ['write', 'read', 'read', 'read', 'uniform'] },
    buffers: [whole(out), whole(spec), whole(weights), whole(bands)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n / 64)),
  });
}
