// Band-limited resampling between integer sample rates: the polyphase windowed-sinc filter that
// torchaudio.functional.resample uses by default (Hann-windowed sinc, 6 zero crossings, rolloff 0.99).
// Plain TypeScript on the CPU: torchaudio's float32 filter weights, sums in float64 (a second of 44.1 kHz
// audio is ~8 M multiply-adds).
//
// Memory is bounded whatever the rates: torchaudio's filter bank has (new/g)·(orig/g + 2·width) taps for
// g = gcd(orig, new), small for the common rates (8–96 kHz) but gigabytes for coprime ones (16,001 Hz →
// 16 kHz). Up to TABLE_LIMIT taps the bank is torchaudio's own (float32 weights, so the common rates
// give torchaudio's result up to summation order); past it, each output's weights are computed exactly
// (float64) when needed, within 1e-6 of the ideal filter's output.

export interface ResampleOptions {
  /** Zero crossings of the sinc kept on each side (torchaudio's lowpass_filter_width; 1–64). */
  readonly lowpassFilterWidth?: number;
  /** Cut-off as a fraction of the lower Nyquist frequency, in (0, 1]. */
  readonly rolloff?: number;
}

/** Most filter-bank weights held at once (8 MB of float64); torchaudio's common rates need at most ~0.3 M. */
export const TABLE_LIMIT = 1 << 20;
/** Most output samples one call produces (1 GiB of float32). */
export const MAX_OUTPUT = 1 << 28;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The filter's geometry: output phase j (time j/next) reads input samples k·orig − width … k·orig − width + taps − 1. */
interface Filter {
  readonly orig: number;
  readonly next: number;
  readonly zeros: number;
  readonly base: number;
  readonly width: number;
  readonly taps: number;
}

function filter(from: number, to: number, zeros: number, rolloff: number): Filter {
  const g = gcd(from, to);
  const orig = from / g;
  const next = to / g;
  const base = Math.min(orig, next) * rolloff;
  const width = Math.ceil((zeros * orig) / base);
  return { orig, next, zeros, base, width, taps: 2 * width + orig };
}

const f = Math.fround;
const PI32 = f(Math.PI);

/**
 * Weight of input tap m for output phase j: torchaudio's Hann-windowed sinc, step by step in float32 as
 * torchaudio computes it for a float32 waveform (its kernel takes the waveform's dtype), so the filter is
 * torchaudio's to the last bit wherever the platform's sin and cos round as torch's do.
 */
function weight32(F: Filter, j: number, m: number): number {
  // t: distance from the output instant to input sample m, in units of the low-pass period
  const idx = f(f(m - F.width) / F.orig);
  let t = f(f(f(-j / F.next) + idx) * f(F.base));
  t = Math.min(Math.max(t, -F.zeros), F.zeros);
  const w = f(f(Math.cos(f(f(f(t * PI32) / F.zeros) / 2))) ** 2);
  const x = f(t * PI32);
  const sinc = x === 0 ? 1 : f(f(Math.sin(x)) / x);
  return f(sinc * f(w * f(F.base / F.orig)));
}

/**
 * The same weight in float64. For rates with large reduced terms (16,001 Hz → 16 kHz) float32 cannot place
 * the output instant finely enough (errors ~1e-4 of full scale), so the per-output path, used exactly
 * there, computes the filter exactly instead.
 */
function weight64(F: Filter, j: number, m: number): number {
  let t = (-j / F.next + (m - F.width) / F.orig) * F.base;
  t = Math.min(Math.max(t, -F.zeros), F.zeros);
  const w = Math.cos((t * Math.PI) / F.zeros / 2) ** 2;
  const x = t * Math.PI;
  return (x === 0 ? 1 : Math.sin(x) / x) * w * (F.base / F.orig);
}

/** The filter bank: `next` rows of `taps` weights, as torchaudio's _get_sinc_resample_kernel builds it. */
function table(F: Filter): Float64Array {
  const h = new Float64Array(F.next * F.taps);
  for (let j = 0; j < F.next; j++) for (let m = 0; m < F.taps; m++) h[j * F.taps + m] = weight32(F, j, m);
  return h;
}

/** Output samples of `n` input samples: ceil(n·to/from), as torchaudio computes it. */
export function resampledLength(n: number, from: number, to: number): number {
  if (from === to) return n;
  const g = gcd(from, to);
  return Math.ceil(((to / g) * n) / (from / g));
}

function check(op: string, from: number, to: number, opts: ResampleOptions): { zeros: number; rolloff: number } {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from <= 0 || to <= 0)
    throw new Error(`${op}: sample rates must be positive integers, got ${from} → ${to}`);
  const zeros = opts.lowpassFilterWidth ?? 6;
  const rolloff = opts.rolloff ?? 0.99;
  if (!Number.isInteger(zeros) || zeros < 1 || zeros > 64) throw new Error(`${op}: lowpassFilterWidth must be an integer in 1..64, got ${zeros}`);
  if (!Number.isFinite(rolloff) || rolloff <= 0 || rolloff > 1) throw new Error(`${op}: rolloff must be in (0, 1], got ${rolloff}`);
  return { zeros, rolloff };
}

/**
 * Output samples [start, end) of resampling `x` from `from` Hz to `to` Hz: the same values as
 * resample(x, from, to).subarray(start, end), computed from only the input they need.
 */
export function resampleRange(x: Float32Array, from: number, to: number, start: number, end: number, opts: ResampleOptions = {}): Float32Array {
  const { zeros, rolloff } = check('resample', from, to, opts);
  const total = resampledLength(x.length, from, to);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > total)
    throw new Error(`resample: output range [${start}, ${end}) is not within the ${total} samples of the result`);
  if (end - start > MAX_OUTPUT) throw new Error(`resample: ${end - start} output samples exceed the ${MAX_OUTPUT}-sample limit of one call`);
  if (from === to) return x.slice(start, end);
  const F = filter(from, to, zeros, rolloff);
  return convolve(x, F, start, end, F.next * F.taps <= TABLE_LIMIT ? table(F) : null);
}

/** Outputs [start, end) from the stored filter bank `h`, or from weights computed per output when it is null. */
function convolve(x: Float32Array, F: Filter, start: number, end: number, h: Float64Array | null): Float32Array {
  const out = new Float32Array(end - start);
  const n = x.length;
  // Taps outside |t| < zeros carry only the window's rounding residue (~1e-33 of a weight); the
  // per-output path skips them.
  const reach = (F.zeros * F.orig) / F.base;
  for (let o = start; o < end; o++) {
    const k = Math.floor(o / F.next);
    const j = o - k * F.next;
    const first = k * F.orig - F.width; // input index of tap 0
    let lo = Math.max(0, -first);
    let hi = Math.min(F.taps, n - first);
    let s = 0;
    if (h) {
      const row = j * F.taps;
      for (let m = lo; m < hi; m++) s += x[first + m]! * h[row + m]!;
    } else {
      const centre = F.width + (F.orig * j) / F.next;
      lo = Math.max(lo, Math.floor(centre - reach) - 1);
      hi = Math.min(hi, Math.ceil(centre + reach) + 2);
      for (let m = lo; m < hi; m++) s += x[first + m]! * weight64(F, j, m);
    }
    out[o - start] = s;
  }
  return out;
}

/**
 * Resamples `x` from `from` Hz to `to` Hz (integers); the output has ceil(len·to/from) samples, as in
 * torchaudio. The edges are zero-padded, like torchaudio's. Memory stays O(output) for any pair of rates.
 * @example const y = resample(samples, 44100, 16000);
 */
export function resample(x: Float32Array, from: number, to: number, opts: ResampleOptions = {}): Float32Array {
  check('resample', from, to, opts);
  const total = resampledLength(x.length, from, to);
  if (total > MAX_OUTPUT) throw new Error(`resample: ${x.length} samples at ${from} Hz → ${to} Hz would be ${total} samples, over the ${MAX_OUTPUT}-sample limit`);
  return resampleRange(x, from, to, 0, total, opts);
}

/** For tests: the whole resample with exact per-output weights even where torchaudio's table would fit. */
export function resampleDirect(x: Float32Array, from: number, to: number): Float32Array {
  check('resample', from, to, {});
  return convolve(x, filter(from, to, 6, 0.99), 0, resampledLength(x.length, from, to), null);
}
