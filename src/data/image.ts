// Image, depth and thermal inputs as ImageBind's encoders take them: decode, PIL-exact bicubic resize of
// the short side (antialiased), torchvision's center crop, ToTensor and Normalize — the resampling runs as
// two GPU passes (kernels/resize.ts). Not an augmentation pipeline (no random crops or flips).

import { maxBinding } from '../kernels/windows.js';
import { empty } from '../tensor/alloc.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Normalization, runResizeHorizontal, runResizeVertical } from '../kernels/resize.js';
import { type DecodeOptions, type DecodedImage, decodeImage, decodePngRaw, isPng } from './decode.js';
import { intOption, numberList, numberOption } from './options.js';
import { type Taps, bicubicTaps, centerCropOffsets, fixedPointWeights, shortSideSize, sliceTaps } from './resize.js';

/** CLIP's (OpenAI) normalisation, used by ImageBind's image and video paths. */
export const CLIP_MEAN: readonly number[] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly number[] = [0.26862954, 0.26130258, 0.27577711];

/** Encoded PNG/JPEG bytes, or pixels already decoded. */
export type ImageInput = Uint8Array | ArrayBuffer | DecodedImage;

export interface ImageOptions {
  /** Named in error messages. */
  readonly name?: string;
  /** Most pixels an encoded image may declare (default Pillow's 89,478,485; see DecodeOptions.maxPixels). */
  readonly maxPixels?: number;
  /** Short side after resizing and side of the square center crop (default 224). */
  readonly size?: number;
  /** Per-channel normalisation (default CLIP's for images; none, i.e. 0 and 1, for depth and thermal). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/** One plane-interleaved image of 8-bit or float samples. */
interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array | Float32Array;
}

/** The decode options an image option bag carries. */
function decodeOpts(opts: ImageOptions): DecodeOptions {
  return { ...(opts.name !== undefined ? { name: opts.name } : {}), ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}) };
}

function toPixels(input: ImageInput, opts: ImageOptions): DecodedImage {
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return decodeImage(input, decodeOpts(opts));
  if (input.data.length !== input.width * input.height * input.channels)
    throw new Error(`loadImage: decoded image ${input.width}x${input.height}x${input.channels} has ${input.data.length} bytes`);
  return input;
}

/** A u32 tensor holding the bytes of `data` (8-bit samples packed four to a word, or f32 bits). */
function uploadWords(data: Uint8Array | Float32Array): Tensor {
  const t = empty([Math.max(Math.ceil(data.byteLength / 4), 1)], 'u32', 'loadImage');
  return t.writeBytes_(data);
}

function packTaps(t: Taps, u8: boolean): Int32Array {
  const out = new Int32Array(2 * t.outSize + t.weights.length);
  for (let i = 0; i < t.outSize; i++) {
    out[2 * i] = t.first[i]!;
    out[2 * i + 1] = t.count[i]!;
  }
  if (u8) out.set(fixedPointWeights(t.weights), 2 * t.outSize);
  else new Float32Array(out.buffer).set(t.weights, 2 * t.outSize);
  return out;
}

/** Input rows per horizontal-pass launch: a multiple of 64, so each window of tmp starts 256-byte aligned. */
function rowsPerLaunch(rowBytes: number, limit: number, op: string): number {
  const rows = Math.floor(limit / rowBytes / 64) * 64;
  if (rows < 64) throw new Error(`${op}: rows of ${rowBytes} bytes are too wide: 64 of them exceed the ${limit}-byte binding limit`);
  return rows;
}

/**
 * Resize(size, BICUBIC) of the short side + CenterCrop(size) + (v − mean) / std, as PIL and torchvision
 * compute it: 8-bit images are resampled in PIL's fixed point with the intermediate rounded to 8 bits
 * (then / 255), float images in f32 (PIL's mode F, which has no rounding). Returns [channels, size, size].
 * The horizontal pass runs over windows of input rows, so an image larger than one binding still loads;
 * when a launch throws, every tensor made here is freed.
 */
export function resizeCropNormalize(px: Pixels, size: number, norm: Normalization, op = 'loadImage', bindingLimit?: number): Tensor {
  const r = shortSideSize(px.width, px.height, size);
  const { left, top } = centerCropOffsets(r.width, r.height, size);
  return resampleNormalize(px, sliceTaps(bicubicTaps(px.width, r.width), left, size), sliceTaps(bicubicTaps(px.height, r.height), top, size), size, norm, op, bindingLimit);
}

/** Resamples `px` with horizontal taps `ht` and vertical taps `vt` (both `size` outputs) and normalises. */
function resampleNormalize(px: Pixels, ht: Taps, vt: Taps, size: number, norm: Normalization, op: string, bindingLimit?: number): Tensor {
  const { width: w, height: h, channels: C } = px;
  const u8 = px.data instanceof Uint8Array;
  // Only the input rows the cropped output reads go to the GPU and through the horizontal pass.
  let row0 = h;
  let row1 = 0;
  for (let y = 0; y < size; y++) {
    row0 = Math.min(row0, vt.first[y]!);
    row1 = Math.max(row1, vt.first[y]! + vt.count[y]!);
  }
  const limit = maxBinding(op);
  // `bindingLimit` (tests) stands in for the device's limit on the source windows, to exercise them on small images.
  const chunk = rowsPerLaunch(w * C * (u8 ? 1 : 4), bindingLimit ?? limit, op);
  if ((row1 - row0) * size * C * 4 > limit) throw new Error(`${op}: ${row1 - row0} rows resampled to ${size} columns exceed the ${limit}-byte binding limit`);
  const hc = packTaps(ht, u8);
  const coefWords = new Int32Array(hc.length + 2 * size + vt.weights.length);
  coefWords.set(hc);
  coefWords.set(packTaps(vt, u8), hc.length);
  const made: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (made.push(t), t);
  try {
    const coef = keep(tensor(coefWords, { dtype: 'i32' }));
    const tmp = keep(empty([(row1 - row0) * size * C], 'u32', op));
    const out = keep(empty([C, size, size], 'f32', op));
    const result = out;
    for (let a = row0; a < row1; a += chunk) {
      const rows = Math.min(chunk, row1 - a);
      const src = keep(uploadWords(px.data.subarray(a * w * C, (a + rows) * w * C)));
      const window = { offset: (a - row0) * size * C * 4, size: rows * size * C * 4 };
      runResizeHorizontal({ ...tmp.operand(op), window }, src.operand(op), coef.operand(op), {
        rows, inW: w, outW: size, channels: C, ksize: ht.ksize, cOff: 0, u8,
      });
    }
    runResizeVertical(out.operand(op), tmp.operand(op), coef.operand(op), {
      outW: size, outH: size, channels: C, row0, ksize: vt.ksize, cOff: hc.length, oOff: 0, cStride: size * size, u8,
    }, norm);
    made.splice(made.indexOf(result), 1); // the result outlives this call
    return result;
  } finally {
    for (const t of made) t.dispose();
  }
}

function normalization(op: string, opts: ImageOptions, mean: readonly number[], std: readonly number[], channels: number): Normalization {
  return { mean: numberList(op, 'mean', opts.mean ?? mean, channels), std: numberList(op, 'std', opts.std ?? std, channels, true) };
}

/** The output side: an integer in 1..4096 (a 4096² f32 output is already 64 MB per channel). */
function sizeOption(op: string, opts: ImageOptions): number {
  return intOption(op, 'size', opts.size, 224, 1, 4096);
}

/**
 * An image as ImageBind's (and OpenCLIP's eval) transform gives it: RGB, Resize(224, BICUBIC) on the short
 * side, CenterCrop(224), ToTensor, Normalize(CLIP mean, std). Returns [3, 224, 224] f32.
 * @example const x = kiln.data.loadImage(await fs.readFile('dog.jpg'), { name: 'dog.jpg' });
 */
export function loadImage(input: ImageInput, opts: ImageOptions = {}): Tensor {
  const size = sizeOption('loadImage', opts);
  const norm = normalization('loadImage', opts, CLIP_MEAN, CLIP_STD, 3);
  const img = toPixels(input, opts);
  if (img.channels !== 3) throw new Error(`loadImage: expected an RGB image, got ${img.channels} channels`);
  return resizeCropNormalize(img, size, norm);
}

/** A crop box in pixels: columns [left, left + width), rows [top, top + height). */
export interface CropBox {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Taps resampling `box` columns [start, start + n) of the input to `size` outputs, mirrored when `flip`. */
function boxTaps(start: number, n: number, size: number, flip: boolean): Taps {
  const t = bicubicTaps(n, size);
  const first = t.first.map((f) => f + start);
  if (!flip) return { ...t, first };
  const k = t.ksize;
  const weights = new Float64Array(t.weights.length);
  for (let i = 0; i < size; i++) weights.set(t.weights.subarray((size - 1 - i) * k, (size - i) * k), i * k);
  return { ...t, first: first.reverse(), count: t.count.slice().reverse(), weights };
}

/**
 * torchvision's `resized_crop(img, top, left, height, width, [size, size], BICUBIC)` then, when `flip`,
 * `hflip` — the image half of OpenCLIP's training transform (RandomResizedCrop + the optional flip) — and
 * Normalize(CLIP mean, std). The box comes from the caller's randomness. Returns [3, size, size] f32.
 * @example const x = kiln.data.resizedCrop(decoded, { left: 3, top: 0, width: 60, height: 58 }, 224, true);
 */
export function resizedCrop(input: DecodedImage, box: CropBox, size: number, flip: boolean, opts: Pick<ImageOptions, 'mean' | 'std'> = {}): Tensor {
  const op = 'resizedCrop';
  intOption(op, 'size', size, 224, 1, 4096);
  const img = toPixels(input, {});
  if (img.channels !== 3) throw new Error(`${op}: expected an RGB image, got ${img.channels} channels`);
  const { left, top, width, height } = box;
  if (![left, top, width, height].every(Number.isInteger) || left < 0 || top < 0 || width < 1 || height < 1 || left + width > img.width || top + height > img.height)
    throw new Error(`${op}: box ${JSON.stringify(box)} is not inside the ${img.width}x${img.height} image`);
  const norm = normalization(op, opts, CLIP_MEAN, CLIP_STD, 3);
  return resampleNormalize(img, boxTaps(left, width, size, flip), boxTaps(top, height, size, false), size, norm, op);
}

/**
 * A thermal image (ImageBind has no loader; LLVIP-style infrared stored as grey or RGB): PIL's
 * convert('L') (ITU-R 601 luma, 8-bit), then the image path's bicubic resize and center crop, / 255.
 * Kiln's choice: no normalisation unless `mean`/`std` are given. Returns [1, 224, 224] f32.
 * @example const t = kiln.data.loadThermal(bytes);
 */
export function loadThermal(input: ImageInput, opts: ImageOptions = {}): Tensor {
  const size = sizeOption('loadThermal', opts);
  const norm = normalization('loadThermal', opts, [0], [1], 1);
  const img = toPixels(input, opts);
  if (img.channels !== 3) throw new Error(`loadThermal: expected a grey or RGB image, got ${img.channels} channels`);
  const n = img.width * img.height;
  const grey = new Uint8Array(n);
  const d = img.data;
  // PIL's L24: (r·19595 + g·38470 + b·7471 + 0x8000) >> 16.
  for (let i = 0; i < n; i++) grey[i] = (d[3 * i]! * 19595 + d[3 * i + 1]! * 38470 + d[3 * i + 2]! * 7471 + 0x8000) >>> 16;
  return resizeCropNormalize({ width: img.width, height: img.height, channels: 1, data: grey }, size, norm, 'loadThermal');
}

/** A depth or disparity map as float values, row-major. */
export interface DepthMap {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export interface DepthOptions extends ImageOptions {
  /** Camera focal length in pixels: required to turn a depth PNG into disparity. */
  readonly focalLength?: number;
  /** Stereo baseline in metres (default 0.075, Kinect; 0.095 for RealSense/Xtion). */
  readonly baseline?: number;
  /** Metres per PNG sample unit (default 0.001: millimetres). */
  readonly depthScale?: number;
  /** Depth clamp in metres before taking disparity (default 8). */
  readonly maxDepth?: number;
}

/**
 * A depth input for ImageBind's depth encoder, which expects *disparity* (ImageBind has no loader; the
 * recipe is from IB issues #69/#134). A grey 8/16-bit PNG holds depth in `depthScale` metres: it is clamped
 * to `maxDepth` and turned into disparity = focalLength·baseline / depth (0 where depth is 0, i.e.
 * missing). A `DepthMap` is taken as disparity already. Then the image path's bicubic resize (in float, as
 * PIL's mode F: no 8-bit rounding) and center crop; no normalisation unless `mean`/`std` are given.
 * Returns [1, 224, 224] f32.
 * @example const d = kiln.data.loadDepth(png, { focalLength: 518.857 });
 */
export function loadDepth(input: Uint8Array | ArrayBuffer | DepthMap, opts: DepthOptions = {}): Tensor {
  const op = 'loadDepth';
  const size = sizeOption(op, opts);
  const norm = normalization(op, opts, [0], [1], 1);
  const positive = { min: 0, minOpen: true };
  if (opts.focalLength !== undefined) numberOption(op, 'focalLength', opts.focalLength, 1, positive);
  const baseline = numberOption(op, 'baseline', opts.baseline, 0.075, positive);
  const scale = numberOption(op, 'depthScale', opts.depthScale, 0.001, positive);
  const maxDepth = numberOption(op, 'maxDepth', opts.maxDepth, 8, positive);
  let map: DepthMap;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    const name = opts.name !== undefined ? `'${opts.name}'` : 'depth image';
    const b = input instanceof Uint8Array ? input : new Uint8Array(input);
    if (!isPng(b)) throw new Error(`loadDepth: ${name} is not a PNG (depth maps are read from grey 8- or 16-bit PNGs)`);
    const png = decodePngRaw(b, decodeOpts(opts));
    if (png.channels > 2) throw new Error(`loadDepth: ${name} has ${png.channels} channels; a depth PNG is grey`);
    if (opts.focalLength === undefined)
      throw new Error(`loadDepth: ${name}: pass { focalLength } (pixels) to turn depth into disparity, or pass a DepthMap of disparity`);
    const f = opts.focalLength * baseline;
    const data = new Float32Array(png.width * png.height);
    for (let i = 0; i < data.length; i++) {
      const depth = Math.min(png.data[i * png.channels]! * scale, maxDepth);
      data[i] = depth > 0 ? f / depth : 0;
    }
    map = { width: png.width, height: png.height, data };
  } else {
    if (input.data.length !== input.width * input.height)
      throw new Error(`loadDepth: DepthMap ${input.width}x${input.height} has ${input.data.length} values`);
    map = input;
  }
  return resizeCropNormalize({ ...map, channels: 1 }, size, norm, op);
}
