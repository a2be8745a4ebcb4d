// Resize geometry and filter weights, computed on the CPU in float64 exactly as upstream does: PIL's
// `ImagingResample` bicubic coefficients (support widened when downscaling) with its 22-bit fixed point,
// torchvision's short-side output size and CenterCrop offsets, pytorchvideo's ShortSideScale size.
// The pixels themselves are resampled on the GPU (kernels/resize.ts).

/** PIL's PRECISION_BITS for 8-bit resampling: weights are integers scaled by 2^22. */
export const PRECISION_BITS = 22;

/** Per-output-pixel taps of a separable filter: output i reads `count[i]` inputs from `first[i]`. */
export interface Taps {
  readonly outSize: number;
  /** Taps per output pixel (unused ones are 0). */
  readonly ksize: number;
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** [outSize, ksize] normalised weights. */
  readonly weights: Float64Array;
}

/** PIL's bicubic filter (a = −0.5). */
function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** PIL's precompute_coeffs for the bicubic filter over the box [0, inSize): with antialiasing when downscaling. */
export function bicubicTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      weights[xx * ksize + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) weights[xx * ksize + x]! /= ww;
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { outSize, ksize, first, count, weights };
}

/** PIL's normalize_coeffs_8bpc: weights to 22-bit fixed point, rounded half away from zero. */
export function fixedPointWeights(w: Float64Array): Int32Array {
  const out = new Int32Array(w.length);
  const one = 2 ** PRECISION_BITS;
  for (let i = 0; i < w.length; i++) out[i] = w[i]! < 0 ? Math.trunc(-0.5 + w[i]! * one) : Math.trunc(0.5 + w[i]! * one);
  return out;
}

/** Restricts taps to outputs [start, start + n) (the crop window: only those are computed). */
export function sliceTaps(t: Taps, start: number, n: number): Taps {
  return {
    outSize: n,
    ksize: t.ksize,
    first: t.first.slice(start, start + n),
    count: t.count.slice(start, start + n),
    weights: t.weights.slice(start * t.ksize, (start + n) * t.ksize),
  };
}

/** torchvision's Resize(size) output for an int size: the short side becomes `size`, the long side int(size·long/short). */
export function shortSideSize(width: number, height: number, size: number): { width: number; height: number } {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
}

/** pytorchvideo's ShortSideScale: the long side is floor((long / short) · size). */
export function shortSideScaleSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width < height) return { width: size, height: Math.floor((height / width) * size) };
  return { width: Math.floor((width / height) * size), height: size };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision CenterCrop offsets: top = int(round((h − size) / 2)), left likewise. */
export function centerCropOffsets(width: number, height: number, size: number): { left: number; top: number } {
  if (width < size || height < size) throw new Error(`centerCrop: a ${width}x${height} image is smaller than the ${size}x${size} crop`);
  return { left: roundHalfEven((width - size) / 2), top: roundHalfEven((height - size) / 2) };
}
