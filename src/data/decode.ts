// PNG and JPEG decoding to 8-bit RGB, as PIL's `Image.open(f).convert('RGB')` gives it (fast-png, jpeg-js).
// Not a general image library: no EXIF orientation, colour profiles or animation (the first APNG frame only).

import { decode as decodePng } from 'fast-png';
import { decode as decodeJpegJs } from 'jpeg-js';
import { InflateError, inflateZlib } from './inflate.js';

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
  /**
   * Most pixels (width × height) an image may declare; checked from the header before anything is
   * decoded, as Pillow's Image.MAX_IMAGE_PIXELS (default MAX_IMAGE_PIXELS; Infinity lifts the limit).
   */
  readonly maxPixels?: number;
}

/** Pillow's default Image.MAX_IMAGE_PIXELS: 1 GiB of 32-bit pixels / 3, 89,478,485 pixels. */
export const MAX_IMAGE_PIXELS = Math.floor(1024 * 1024 * 1024 / 4 / 3);

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
  if (isJpeg(b)) return decodeJpeg(b, opts, checkPixels(jpegSize(b, label(opts)), opts));
  const head = [...b.subarray(0, 4)].map((v) => v.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`decodeImage: ${label(opts)} is neither PNG nor JPEG (${b.length} bytes, starting ${head || '(empty)'})`);
}

/** Decodes a PNG keeping its samples (for depth maps stored as 16-bit grey). */
export function decodePngRaw(input: Uint8Array | ArrayBuffer, opts: DecodeOptions = {}): RawPng {
  const b = bytesOf(input);
  const name = label(opts);
  if (!isPng(b)) throw new Error(`decodeImage: ${name} is not a PNG (bad signature)`);
  if (!hasChunk(b, 'IEND')) throw new Error(`decodeImage: ${name} is a truncated PNG (${b.length} bytes, no IEND chunk)`);
  const header = pngHeader(b, name);
  checkPixels(header, opts);
  checkZlibStream(b, header, name);
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

function decodeJpeg(b: Uint8Array, opts: DecodeOptions, maxPixels: number): DecodedImage {
  const name = label(opts);
  // A JPEG cut short loses its end-of-image marker (trailing padding after it is allowed).
  let end = b.length;
  while (end > 2 && b[end - 1] === 0) end--;
  if (!(b[end - 2] === 0xff && b[end - 1] === 0xd9))
    throw new Error(`decodeImage: ${name} is a truncated JPEG (${b.length} bytes, no end-of-image marker)`);
  let img;
  try {
    // jpeg-js's own caps follow Kiln's limit (its defaults, 100 MP and 512 MB, would refuse a larger one).
    const mp = Number.isFinite(maxPixels) ? maxPixels / 1e6 : 1e6;
    img = decodeJpegJs(b, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: mp, maxMemoryUsageInMB: Math.max(512, Math.ceil(mp * 12)) });
  } catch (e) {
    throw new Error(`decodeImage: ${name} is a corrupt or unsupported JPEG: ${String((e as Error).message ?? e)}`, { cause: e });
  }
  if (img.width <= 0 || img.height <= 0) throw new Error(`decodeImage: ${name} is a JPEG of size ${img.width}x${img.height}`);
  return { width: img.width, height: img.height, channels: 3, data: img.data };
}

/** Width and height as an image header declares them. */
interface Size {
  readonly width: number;
  readonly height: number;
}

/** Refuses an image whose header declares more than `opts.maxPixels` pixels; returns the limit. */
function checkPixels(size: Size, opts: DecodeOptions): number {
  const limit = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 1) throw new Error(`decodeImage: maxPixels must be a number ≥ 1 (or Infinity), got ${String(limit)}`);
  const pixels = size.width * size.height;
  if (pixels > limit)
    throw new Error(
      `decodeImage: ${label(opts)} is ${size.width}x${size.height} = ${pixels} pixels, over the limit of ${limit} pixels (a decompression bomb?); pass { maxPixels } to raise it`,
    );
  return limit;
}

const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

interface PngHeader extends Size {
  readonly depth: number;
  readonly colorType: number;
  readonly interlace: number;
}

/** The IHDR chunk, which the PNG specification places first. */
function pngHeader(b: Uint8Array, name: string): PngHeader {
  if (b.length < 33 || be32(b, 8) !== 13 || String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR')
    throw new Error(`decodeImage: ${name} is a corrupt PNG: the first chunk is not a 13-byte IHDR`);
  const h = { width: be32(b, 16), height: be32(b, 20), depth: b[24]!, colorType: b[25]!, interlace: b[28]! };
  const depths: Readonly<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!depths[h.colorType]?.includes(h.depth)) throw new Error(`decodeImage: ${name} is a corrupt PNG: bit depth ${h.depth} with colour type ${h.colorType}`);
  if (h.width === 0 || h.height === 0 || h.width > 0x7fffffff || h.height > 0x7fffffff) throw new Error(`decodeImage: ${name} is a PNG of size ${h.width}x${h.height}`);
  if (h.interlace > 1) throw new Error(`decodeImage: ${name} is a corrupt PNG: interlace method ${h.interlace}`);
  return h;
}

/** Bytes of the filtered scanlines (filter byte + packed samples per row, per Adam7 pass when interlaced). */
function rawSize(h: PngHeader): number {
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Readonly<Record<number, number>>)[h.colorType]!;
  const rows = (w: number, n: number): number => (w === 0 || n === 0 ? 0 : n * (1 + Math.ceil((w * channels * h.depth) / 8)));
  if (h.interlace === 0) return rows(h.width, h.height);
  // Adam7: pass p starts at (x0, y0) and steps (dx, dy).
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;
  return passes.reduce((s, [x0, y0, dx, dy]) => s + rows(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy)), 0);
}

/**
 * Inflates the IDAT stream once, bounded by the size the header implies, which verifies the zlib Adler-32
 * checksum (fast-png's inflater skips it) and refuses a stream that inflates past the image: with Node's
 * zlib where it is synchronously available, else with Kiln's own inflater (browsers).
 */
function checkZlibStream(b: Uint8Array, h: PngHeader, name: string): void {
  const parts: Uint8Array[] = [];
  for (let off = 8; off + 12 <= b.length; ) {
    const len = be32(b, off);
    const type = String.fromCharCode(...b.subarray(off + 4, off + 8));
    if (type === 'IDAT') parts.push(b.subarray(off + 8, off + 8 + len));
    if (type === 'IEND') break;
    off += 12 + len;
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  const need = rawSize(h);
  // libpng and Pillow tolerate a little data past the image; a lot of it is a bomb, refused unread.
  const cap = need + (1 << 20);
  let out: Uint8Array;
  try {
    out = inflateBounded(all, cap);
  } catch (e) {
    const kind = e instanceof InflateError ? e.kind : 'corrupt';
    const why =
      kind === 'too-large'
        ? `its image data inflates past the ${need} bytes a ${h.width}x${h.height} image needs`
        : kind === 'adler'
          ? 'the zlib Adler-32 checksum does not match the image data'
          : `its image data does not inflate (${(e as Error).message})`;
    throw new Error(`decodeImage: ${name} is a corrupt PNG: ${why}`, { cause: e });
  }
  if (out.length < need) throw new Error(`decodeImage: ${name} is a truncated PNG: image data has ${out.length} of ${need} bytes`);
}

/** A zlib stream inflated into at most `cap` bytes, Adler-32 checked; Node's zlib when present. Throws InflateError. */
export function inflateBounded(data: Uint8Array, cap: number, useNode = true): Uint8Array {
  type Zlib = typeof import('node:zlib');
  const getBuiltin = (globalThis.process as { getBuiltinModule?: (id: string) => unknown } | undefined)?.getBuiltinModule;
  const zlib = useNode ? (getBuiltin?.('node:zlib') as Zlib | undefined) : undefined;
  if (!zlib) return inflateZlib(data, cap);
  try {
    return zlib.inflateSync(data, { maxOutputLength: cap });
  } catch (e) {
    const msg = (e as Error).message;
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new InflateError('too-large', msg);
    throw new InflateError(/incorrect data check/.test(msg) ? 'adler' : 'corrupt', msg);
  }
}

/** Width and height from a JPEG's start-of-frame marker, found by walking the marker segments. */
function jpegSize(b: Uint8Array, name: string): Size {
  let off = 2;
  while (off + 4 <= b.length) {
    if (b[off] !== 0xff) throw new Error(`decodeImage: ${name} is a corrupt or unsupported JPEG: no marker at byte ${off}`);
    const m = b[off + 1]!;
    if (m === 0xff) {
      off++; // fill byte
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      off += 2;
      continue;
    }
    const len = (b[off + 2]! << 8) | b[off + 3]!;
    // SOF0–SOF15 carry the size, except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (off + 9 > b.length) break;
      return { height: (b[off + 5]! << 8) | b[off + 6]!, width: (b[off + 7]! << 8) | b[off + 8]! };
    }
    if (m === 0xda || m === 0xd9 || len < 2) break; // scan data before any frame header
    off += 2 + len;
  }
  throw new Error(`decodeImage: ${name} is a corrupt or unsupported JPEG: no start-of-frame marker before the image data`);
}
