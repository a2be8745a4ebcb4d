// PNG and JPEG decoding to 8-bit RGB, as PIL's `Image.open(f).convert('RGB')` gives it (fast-png, jpeg-js).
// Not a general image library: no EXIF orientation, colour profiles or animation (the first APNG frame only).

import { decode as decodePng } from 'fast-png';
import { decode as decodeJpegJs } from 'jpeg-js';

/** Decoded pixels: row-major, `channels` interleaved bytes per pixel (3 for decodeImage's RGB). */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

export interface DecodeOptions {
  /** Named in error messages (a file name or URL). */
  readonly name?: string;
}

/** A PNG decoded losslessly: 8- or 16-bit samples, 1–4 channels (grey, grey+alpha, RGB, RGBA), palette expanded. */
export interface RawPng {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly depth: 8 | 16;
  readonly data: Uint8Array | Uint16Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function label(opts: DecodeOptions): string {
  return opts.name !== undefined ? `'${opts.name}'` : 'image';
}

function bytesOf(input: Uint8Array | ArrayBuffer): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

export function isPng(b: Uint8Array): boolean {
  return PNG_MAGIC.every((v, i) => b[i] === v);
}

export function isJpeg(b: Uint8Array): boolean {
  return b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/**
 * Decodes a PNG or JPEG (told apart by their signatures) to RGB bytes: grey is replicated, palettes are
 * looked up, alpha is dropped (not composited), 16-bit samples keep their high byte — as PIL's
 * convert('RGB') does, except for 16-bit grey, which PIL clips to 255 and Kiln scales like the rest.
 * Throws naming `opts.name` on a corrupt, truncated or unsupported file.
 */
export function decodeImage(input: Uint8Array | ArrayBuffer, opts: DecodeOptions = {}): DecodedImage {
  const b = bytesOf(input);
  if (isPng(b)) return pngToRgb(decodePngRaw(b, opts));
  if (isJpeg(b)) return decodeJpeg(b, opts);
  const head = [...b.subarray(0, 4)].map((v) => v.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`decodeImage: ${label(opts)} is neither PNG nor JPEG (${b.length} bytes, starting ${head || '(empty)'})`);
}

/** Decodes a PNG keeping its samples (for depth maps stored as 16-bit grey). */
export function decodePngRaw(input: Uint8Array | ArrayBuffer, opts: DecodeOptions = {}): RawPng {
  const b = bytesOf(input);
  const name = label(opts);
  if (!isPng(b)) throw new Error(`decodeImage: ${name} is not a PNG (bad signature)`);
  if (!hasChunk(b, 'IEND')) throw new Error(`decodeImage: ${name} is a truncated PNG (${b.length} bytes, no IEND chunk)`);
  let png;
  try {
    png = decodePng(b, { checkCrc: true });
  } catch (e) {
    throw new Error(`decodeImage: ${name} is a corrupt PNG: ${(e as Error).message}`, { cause: e });
  }
  const { width, height, depth, channels } = png;
  if (width <= 0 || height <= 0) throw new Error(`decodeImage: ${name} is a PNG of size ${width}x${height}`);
  const rowBytes = Math.ceil((depth * channels * width) / 8);
  const words = depth === 16 ? width * height * channels : rowBytes * height;
  if (png.data.length < words)
    throw new Error(`decodeImage: ${name} is a truncated PNG: image data has ${png.data.length} of ${words} samples`);
  if (png.palette) {
    const out = new Uint8Array(width * height * 3);
    const idx = unpackRows(png.data as Uint8Array, width, height, depth, false);
    for (let i = 0; i < width * height; i++) {
      const c = png.palette[idx[i]!];
      out[3 * i] = c?.[0] ?? 0;
      out[3 * i + 1] = c?.[1] ?? 0;
      out[3 * i + 2] = c?.[2] ?? 0;
    }
    return { width, height, channels: 3, depth: 8, data: out };
  }
  if (depth === 16) return { width, height, channels, depth: 16, data: png.data as Uint16Array };
  if (depth === 8) return { width, height, channels, depth: 8, data: png.data as Uint8Array };
  // Grey at 1, 2 or 4 bits, scaled to 0..255 as PIL unpacks it.
  return { width, height, channels, depth: 8, data: unpackRows(png.data as Uint8Array, width, height, depth, true) };
}

/** Unpacks 1/2/4/8-bit samples from byte-aligned rows; `scale` maps them to 0..255. */
function unpackRows(data: Uint8Array, width: number, height: number, depth: number, scale: boolean): Uint8Array {
  if (depth === 8) return data;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((depth * width) / 8);
  const mask = (1 << depth) - 1;
  const mul = scale ? 255 / mask : 1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const v = (data[y * rowBytes + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask;
      out[y * width + x] = v * mul;
    }
  return out;
}

function pngToRgb(p: RawPng): DecodedImage {
  const n = p.width * p.height;
  const out = new Uint8Array(n * 3);
  const c = p.channels;
  const shift = p.depth === 16 ? 8 : 0;
  const grey = c < 3;
  for (let i = 0; i < n; i++) {
    const base = i * c;
    for (let k = 0; k < 3; k++) out[3 * i + k] = p.data[base + (grey ? 0 : k)]! >> shift;
  }
  return { width: p.width, height: p.height, channels: 3, data: out };
}

function hasChunk(b: Uint8Array, type: string): boolean {
  // Walks the chunk list: a file cut short ends before the IEND chunk (or inside one).
  let off = 8;
  while (off + 12 <= b.length) {
    const len = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
    const t = String.fromCharCode(b[off + 4]!, b[off + 5]!, b[off + 6]!, b[off + 7]!);
    if (t === type) return off + 12 + len <= b.length;
    off += 12 + len;
  }
  return false;
}

function decodeJpeg(b: Uint8Array, opts: DecodeOptions): DecodedImage {
  const name = label(opts);
  // A JPEG cut short loses its end-of-image marker (trailing padding after it is allowed).
  let end = b.length;
  while (end > 2 && b[end - 1] === 0) end--;
  if (!(b[end - 2] === 0xff && b[end - 1] === 0xd9))
    throw new Error(`decodeImage: ${name} is a truncated JPEG (${b.length} bytes, no end-of-image marker)`);
  let img;
  try {
    img = decodeJpegJs(b, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  } catch (e) {
    throw new Error(`decodeImage: ${name} is a corrupt or unsupported JPEG: ${String((e as Error).message ?? e)}`, { cause: e });
  }
  if (img.width <= 0 || img.height <= 0) throw new Error(`decodeImage: ${name} is a JPEG of size ${img.width}x${img.height}`);
  return { width: img.width, height: img.height, channels: 3, data: img.data };
}
