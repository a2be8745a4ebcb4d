// Band-limited resampling between integer sample rates: the polyphase windowed-sinc filter that
// torchaudio.functional.resample uses by default (Hann-windowed sinc, 6 zero crossings, rolloff 0.99).
// Plain TypeScript in float64 on the CPU (a second of 44.1 kHz audio is ~8 M multiply-adds).

export interface ResampleOptions {
  /** Zero crossings of the sinc kept on each side (torchaudio's lowpass_filter_width). */
  readonly lowpassFilterWidth?: number;
  /** Cut-off as a fraction of the lower Nyquist frequency. */
  readonly rolloff?: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The filter bank: `phases` rows of `taps` weights. Output phase j (time j/new) reads input samples
 * around it; all phases share one stride of `orig` input samples, so y[k·new + j] = Σ_m x[k·orig + m − width]·h[j][m].
 */
function sincKernel(orig: number, next: number, zeros: number, rolloff: number): { h: Float64Array; width: number; taps: number } {
  const base = Math.min(orig, next) * rolloff;
  const width = Math.ceil((zeros * orig) / base);
  const taps = 2 * width + orig;
  const h = new Float64Array(next * taps);
  const scale = base / orig;
  for (let j = 0; j < next; j++)
    for (let m = 0; m < taps; m++) {
      // t: distance from the output instant to input sample m, in units of the low-pass period
      let t = (-j / next + (m - width) / orig) * base;
      t = Math.min(Math.max(t, -zeros), zeros);
      const w = Math.cos((t * Math.PI) / zeros / 2) ** 2;
      const x = t * Math.PI;
      h[j * taps + m] = (x === 0 ? 1 : Math.sin(x) / x) * w * scale;
    }
  return { h, width, taps };
}

/**
 * Resamples `x` from `from` Hz to `to` Hz (integers); the output has ceil(len·to/from) samples, as in
 * torchaudio. The edges are zero-padded, like torchaudio's.
 * @example const y = resample(samples, 44100, 16000);
 */
export function resample(x: Float32Array, from: number, to: number, opts: ResampleOptions = {}): Float32Array {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from <= 0 || to <= 0)
    throw new Error(`resample: sample rates must be positive integers, got ${from} → ${to}`);
  if (from === to) return x.slice();
  const g = gcd(from, to);
  const orig = from / g;
  const next = to / g;
  const { h, width, taps } = sincKernel(orig, next, opts.lowpassFilterWidth ?? 6, opts.rolloff ?? 0.99);
  const n = x.length;
  const out = new Float32Array(Math.ceil((next * n) / orig));
  for (let o = 0; o < out.length; o++) {
    const k = Math.floor(o / next);
    const j = o - k * next;
    const start = k * orig - width; // input index of tap 0
    const lo = Math.max(0, -start);
    const hi = Math.min(taps, n - start);
    let s = 0;
    const row = j * taps;
    for (let m = lo; m < hi; m++) s += x[start + m]! * h[row + m]!;
    out[o] = s;
  }
  return out;
}
