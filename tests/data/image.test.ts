// Image, depth, thermal and video inputs against PIL + torchvision (tests/fixtures/gen_image.py): PNG
// decoding exact, JPEG within a stated tolerance, resize + crop + normalise exact to the uint8 level, video
// against torch's bilinear and a float64 reference, and clear errors for corrupt or truncated files.
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { resizeCropNormalize } from '../../src/data/image.js';
import { crc32 } from '../../src/io/zip.js';
import { fuzz } from '../helpers/fuzz.js';

const dir = new URL('../fixtures/image/', import.meta.url);
const bytes = (f: string): Uint8Array => new Uint8Array(readFileSync(new URL(f, dir)));
const f32 = (f: string): Float32Array => {
  const b = readFileSync(new URL(f, dir));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
interface Manifest {
  mean: number[];
  std: number[];
  images: Record<string, { width: number; height: number; rgb?: boolean; tv8?: number[] }>;
  jpeg: { name: string; width: number; height: number };
}
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as Manifest;
const S = 224;
const mean = kiln.data.CLIP_MEAN;
const std = kiln.data.CLIP_STD;

/** torchvision's ToTensor + Normalize of 8-bit [H, W, C] pixels, in float32 as torch rounds each step. */
function normalized(px: Uint8Array, channels: number, m: readonly number[], s: readonly number[]): Float32Array {
  const out = new Float32Array(channels * S * S);
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < S * S; i++) {
      const v = Math.fround(px[i * 3 + c]! / 255);
      out[c * S * S + i] = Math.fround(Math.fround(v - Math.fround(m[c]!)) / Math.fround(s[c]!));
    }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; at: number } {
  let diff = 0;
  let at = -1;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) [diff, at] = [Number.isNaN(d) ? Infinity : d, i];
  }
  return { diff, at };
}

/** out[:, ::8, ::8] of a [planes, 224, 224] array. */
function every8(a: ArrayLike<number>, planes: number): Float32Array {
  const out = new Float32Array(planes * 28 * 28);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out[(p * 28 + y) * 28 + x] = a[(p * S + 8 * y) * S + 8 * x]!;
  return out;
}

describe('decodeImage', () => {
  const exotic = Object.entries(manifest.images).filter(([, e]) => e.rgb === true).map(([n]) => n);
  it.each(exotic)('decodes %s.png exactly as PIL convert("RGB")', (name) => {
    const img = kiln.data.decodeImage(bytes(`${name}.png`), { name: `${name}.png` });
    const e = manifest.images[name]!;
    expect([img.width, img.height, img.channels]).toEqual([e.width, e.height, 3]);
    expect(maxAbsDiff(img.data, bytes(`${name}.rgb`)).diff).toBe(0);
  });

  // jpeg-js and libjpeg-turbo (PIL) differ in IDCT rounding and, mostly, in chroma upsampling: jpeg-js
  // replicates 4:2:0 chroma where libjpeg's "fancy" upsampling interpolates it. Measured on this file: mean
  // |diff| 2.15 levels, 95th percentile 6, 99th 29, max 80 (at the red square's edge, where chroma jumps).
  it('decodes a JPEG close to PIL (mean ≤ 2.5 levels, 95th percentile ≤ 8, max ≤ 96)', () => {
    const { name, width, height } = manifest.jpeg;
    const img = kiln.data.decodeImage(bytes(`${name}.jpg`));
    expect([img.width, img.height, img.channels]).toEqual([width, height, 3]);
    const ref = bytes(`${name}.rgb`);
    const diffs = Array.from(ref, (v, i) => Math.abs(v - img.data[i]!)).sort((a, b) => a - b);
    expect(diffs.reduce((a, b) => a + b, 0) / diffs.length).toBeLessThanOrEqual(2.5);
    expect(diffs[Math.floor(diffs.length * 0.95)]).toBeLessThanOrEqual(8);
    expect(diffs[diffs.length - 1]).toBeLessThanOrEqual(96);
  });

  it('throws naming the file for truncated, corrupt and unknown data', () => {
    const png = bytes('gradient.png');
    expect(() => kiln.data.decodeImage(png.subarray(0, png.length >> 1), { name: 'half.png' })).toThrow(/'half.png' is a truncated PNG/);
    expect(() => kiln.data.decodeImage(png.subarray(0, 30), { name: 'head.png' })).toThrow(/'head.png' is a truncated PNG/);
    const bad = png.slice();
    bad[80] = bad[80]! ^ 0xff; // inside the first IDAT: its CRC no longer matches
    expect(() => kiln.data.decodeImage(bad, { name: 'flip.png' })).toThrow(/'flip.png' is a corrupt PNG/);
    const jpg = bytes('photo.jpg');
    expect(() => kiln.data.decodeImage(jpg.subarray(0, jpg.length - 300), { name: 'cut.jpg' })).toThrow(/'cut.jpg' is a truncated JPEG/);
    const garbage = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0xff, 0x42, 0, 3, 7, 0xff, 0xd9]);
    expect(() => kiln.data.decodeImage(garbage, { name: 'junk.jpg' })).toThrow(/'junk.jpg' is a corrupt or unsupported JPEG/);
    expect(() => kiln.data.decodeImage(new TextEncoder().encode('GIF89a...'), { name: 'a.gif' })).toThrow(/'a.gif' is neither PNG nor JPEG/);
  });
});

describe('loadImage: Resize(224, BICUBIC) + CenterCrop + ToTensor + Normalize', () => {
  // Exact to the uint8 level: the 8-bit crop PIL produced, normalised in float32, within 2e-6 (WGSL's
  // division is not correctly rounded); a one-level error would be 1/255/std ≥ 0.0142.
  it.each(Object.keys(manifest.images).filter((n) => manifest.images[n]!.tv8))('%s.png matches PIL exactly', async (name) => {
    const x = kiln.data.loadImage(bytes(`${name}.png`), { name });
    expect(x.shape).toEqual([3, S, S]);
    const got = await x.data();
    x.dispose();
    const crop = kiln.data.decodeImage(bytes(`${name}.crop.png`));
    const ref = normalized(crop.data, 3, mean, std);
    const d = maxAbsDiff(got, ref);
    expect(d.diff, `worst at ${d.at}: got ${got[d.at]}, PIL ${ref[d.at]}`).toBeLessThanOrEqual(2e-6);
    // And torchvision's own float pipeline on a subsample.
    expect(maxAbsDiff(every8(got, 3), f32(`${name}.tv8.f32`)).diff).toBeLessThanOrEqual(2e-6);
  });

  it('takes decoded pixels and custom normalisation; rejects a wrong mean', async () => {
    const img = kiln.data.decodeImage(bytes('checker.png'));
    const x = kiln.data.loadImage(img, { mean: [0, 0, 0], std: [1, 1, 1] });
    const got = await x.data();
    x.dispose();
    const ref = normalized(kiln.data.decodeImage(bytes('checker.crop.png')).data, 3, [0, 0, 0], [1, 1, 1]);
    expect(maxAbsDiff(got, ref).diff).toBeLessThanOrEqual(1e-7);
    expect(() => kiln.data.loadImage(img, { mean: [0.5] })).toThrow('loadImage: mean needs 3 values, got 1');
  });
});

describe('loadThermal and loadDepth', () => {
  it('loadThermal of a grey PNG is PIL\'s L-mode resize / 255 ([1, 224, 224])', async () => {
    const x = kiln.data.loadThermal(bytes('grey.png'));
    expect(x.shape).toEqual([1, S, S]);
    const got = await x.data();
    x.dispose();
    const ref = normalized(kiln.data.decodeImage(bytes('grey.crop.png')).data, 1, [0], [1]);
    expect(maxAbsDiff(got, ref).diff).toBeLessThanOrEqual(1e-7);
  });

  it('loadDepth resamples floats without 8-bit rounding: within one level of PIL\'s 8-bit result', async () => {
    const img = kiln.data.decodeImage(bytes('grey.png'));
    const data = new Float32Array(img.width * img.height).map((_, i) => img.data[3 * i]!);
    const x = kiln.data.loadDepth({ width: img.width, height: img.height, data });
    expect(x.shape).toEqual([1, S, S]);
    const got = await x.data();
    x.dispose();
    const crop = kiln.data.decodeImage(bytes('grey.crop.png')).data;
    const ref = new Float32Array(S * S).map((_, i) => crop[3 * i]!);
    // PIL rounds between passes and at the end (≤ 0.5 each, the first through vertical weights of total
    // |w| up to ≈ 1.2); floats don't. Measured: 1.02.
    expect(maxAbsDiff(got, ref).diff).toBeLessThanOrEqual(1.25);
  });

  it('loadDepth turns a 16-bit depth PNG (mm) into disparity = f·b / min(depth, 8 m)', async () => {
    const raw = readFileSync(new URL('grey16.u16', dir));
    const mm = new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const disparity = new Float32Array(mm.length).map((_, i) => (mm[i]! > 0 ? (500 * 0.075) / Math.min(mm[i]! / 1000, 8) : 0));
    const a = kiln.data.loadDepth(bytes('grey16.png'), { focalLength: 500 });
    const b = kiln.data.loadDepth({ width: 50, height: 40, data: disparity });
    expect(await a.data()).toBeAllClose(await b.data(), { rtol: 1e-6 });
    a.dispose();
    b.dispose();
    expect(() => kiln.data.loadDepth(bytes('grey16.png'), { name: 'd.png' })).toThrow(/'d.png': pass \{ focalLength \}/);
    expect(() => kiln.data.loadDepth(bytes('gradient.png'), { name: 'rgb.png', focalLength: 1 })).toThrow(/'rgb.png' has 3 channels/);
  });
});

/** float64 reference of ImageBind's video path for one frame: bilinear (align_corners = false) + crop + normalise. */
function bilinearRef(f: kiln.data.DecodedImage, size: number, x0: number, y0: number, nw: number, nh: number): Float64Array {
  const out = new Float64Array(3 * size * size);
  // PyTorch computes the scale in float32 (input / output size); the rest here is float64.
  const sx = Math.fround(f.width / nw);
  const sy = Math.fround(f.height / nh);
  const src = (d: number, s: number, n: number): [number, number, number] => {
    const r = Math.max(s * (d + 0.5) - 0.5, 0);
    const i = Math.floor(r);
    return [i, Math.min(i + 1, n - 1), r - i];
  };
  for (let y = 0; y < size; y++) {
    const [ya, yb, ly] = src(y + y0, sy, f.height);
    for (let x = 0; x < size; x++) {
      const [xa, xb, lx] = src(x + x0, sx, f.width);
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number): number => f.data[(yy * f.width + xx) * 3 + c]! / 255;
        const v = (1 - ly) * ((1 - lx) * p(ya, xa) + lx * p(ya, xb)) + ly * ((1 - lx) * p(yb, xa) + lx * p(yb, xb));
        out[(c * size + y) * size + x] = (v - mean[c]!) / std[c]!;
      }
    }
  }
  return out;
}

describe('videoClips', () => {
  const frames = [0, 1].map((i) => kiln.data.decodeImage(bytes(`video${i}.png`)));

  // f32 source coordinates and weights (as in torch) put the error at ~1e-5 after normalisation (measured
  // 1.3e-5 vs float64, 1.2e-5 vs torch); one uint8 level would be 1/255/std ≥ 0.0142.
  it('matches torch (subsampled) and a float64 bilinear reference within 3e-5: [1, 3, 2, 224, 224]', async () => {
    const v = kiln.data.videoClips(frames, { clips: 1, framesPerClip: 2 });
    expect(v.shape).toEqual([1, 3, 2, S, S]);
    const got = await v.data();
    v.dispose();
    // 96x64 → 336x224, center crop at x = ceil(112 / 2) = 56.
    for (let t = 0; t < 2; t++) {
      const ref = bilinearRef(frames[t]!, S, 56, 0, 336, 224);
      const mine = new Float32Array(3 * S * S).map((_, i) => got[(Math.floor(i / (S * S)) * 2 + t) * S * S + (i % (S * S))]!);
      expect(maxAbsDiff(mine, ref).diff).toBeLessThanOrEqual(3e-5);
    }
    expect(maxAbsDiff(every8(got, 6), f32('video.f32')).diff).toBeLessThanOrEqual(3e-5);
  });

  it('takes clip windows at a frame rate, subsamples uniformly, and makes 3 spatial crops', async () => {
    // 30 constant frames at 10 fps (3 s), 3 clips of 2 s: windows [0, 2), [0.5, 2.5), [1, 3) s →
    // frames [0, 20), [5, 25), [10, 30) → first and last of each: 0, 19, 5, 24, 10, 29.
    const flat = Array.from({ length: 30 }, (_, k) => ({ width: 8, height: 6, channels: 3, data: new Uint8Array(8 * 6 * 3).fill(k * 8) }));
    const v = kiln.data.videoClips(flat, { clips: 3, framesPerClip: 2, fps: 10, spatialCrops: 3 });
    expect(v.shape).toEqual([9, 3, 2, S, S]);
    const got = await v.data();
    v.dispose();
    const picked: number[] = [];
    for (let n = 0; n < 9; n += 3) for (let t = 0; t < 2; t++) picked.push(Math.round((got[(n * 3 * 2 + t) * S * S + 1000]! * std[0]! + mean[0]!) * 255) / 8 + 0);
    expect(picked).toEqual([0, 19, 5, 24, 10, 29]);
    expect(() => kiln.data.videoClips([frames[0]!, flat[0]!])).toThrow(/frame 1 is 8x6x3; frame 0 is 96x64x3/);
  });
});

describe('images: hostile headers, checksums, options, windows and leaks', () => {
  /** A PNG from chunks [type, data], each with its CRC. */
  function png(chunks: readonly (readonly [string, Uint8Array])[]): Uint8Array {
    const parts: Uint8Array[] = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
    for (const [type, data] of chunks) {
      const c = new Uint8Array(12 + data.length);
      const dv = new DataView(c.buffer);
      dv.setUint32(0, data.length);
      c.set(new TextEncoder().encode(type), 4);
      c.set(data, 8);
      dv.setUint32(8 + data.length, crc32(c.subarray(4, 8 + data.length)));
      parts.push(c);
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  }
  const ihdr = (w: number, h: number, depth = 8, colour = 2, interlace = 0): Uint8Array => {
    const b = new Uint8Array(13);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, w);
    dv.setUint32(4, h);
    b.set([depth, colour, 0, 0, interlace], 8);
    return b;
  };
  /** RGB rows with filter byte 0, zlib-compressed. */
  const image = (w: number, h: number, fill = (i: number): number => (i * 37) & 0xff): Uint8Array => {
    const raw = new Uint8Array(h * (1 + 3 * w));
    for (let y = 0; y < h; y++) for (let i = 0; i < 3 * w; i++) raw[y * (1 + 3 * w) + 1 + i] = fill(y * 3 * w + i);
    return new Uint8Array(deflateSync(raw));
  };
  const small = png([['IHDR', ihdr(16, 12)], ['IDAT', image(16, 12)], ['IEND', new Uint8Array()]]);

  /** The error `fn` throws (or 'ok'); asserts that no tensor was left live. */
  const refusal = (fn: () => unknown): string => {
    const before = kiln.memory().liveTensors;
    let msg = 'ok';
    try {
      const r = fn();
      if (r instanceof kiln.Tensor) r.dispose();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(kiln.memory().liveTensors, msg).toBe(before);
    return msg;
  };

  it('refuses an image declaring more pixels than the limit from its header, before decoding, naming both', () => {
    expect(kiln.data.MAX_IMAGE_PIXELS).toBe(89478485); // Pillow's Image.MAX_IMAGE_PIXELS
    // 20000 × 20000 declared, a few hundred bytes of file: refused without inflating anything.
    const bomb = png([['IHDR', ihdr(20000, 20000)], ['IDAT', new Uint8Array(deflateSync(new Uint8Array(100000)))], ['IEND', new Uint8Array()]]);
    expect(bomb.length).toBeLessThan(1000);
    const t0 = performance.now();
    for (const load of [kiln.data.loadImage, kiln.data.loadThermal] as const)
      expect(refusal(() => load(bomb, { name: 'bomb.png' }))).toBe(
        "decodeImage: 'bomb.png' is 20000x20000 = 400000000 pixels, over the limit of 89478485 pixels (a decompression bomb?); pass { maxPixels } to raise it",
      );
    const grey16 = png([['IHDR', ihdr(20000, 20000, 16, 0)], ['IDAT', new Uint8Array(8)], ['IEND', new Uint8Array()]]);
    expect(refusal(() => kiln.data.loadDepth(grey16, { focalLength: 500 }))).toMatch(/is 20000x20000 = 400000000 pixels, over the limit of 89478485 pixels/);
    expect(performance.now() - t0).toBeLessThan(500);
    // Configurable per call, as Pillow's global is.
    expect(refusal(() => kiln.data.decodeImage(small, { maxPixels: 100 }))).toBe("decodeImage: image is 16x12 = 192 pixels, over the limit of 100 pixels (a decompression bomb?); pass { maxPixels } to raise it");
    expect(kiln.data.decodeImage(small, { maxPixels: 192 }).width).toBe(16);
    expect(refusal(() => kiln.data.decodeImage(small, { maxPixels: NaN }))).toBe('decodeImage: maxPixels must be a number ≥ 1 (or Infinity), got NaN');
    // JPEG: the size comes from the start-of-frame marker.
    expect(refusal(() => kiln.data.loadImage(bytes('photo.jpg'), { name: 'p.jpg', maxPixels: 1000 }))).toBe(
      "decodeImage: 'p.jpg' is 96x72 = 6912 pixels, over the limit of 1000 pixels (a decompression bomb?); pass { maxPixels } to raise it",
    );
  });

  it("verifies zlib's Adler-32 and refuses image data that inflates past the image", () => {
    expect(kiln.data.decodeImage(small).data.length).toBe(16 * 12 * 3);
    const z = image(16, 12);
    const badAdler = z.slice();
    badAdler[badAdler.length - 1] = badAdler[badAdler.length - 1]! ^ 1; // chunk CRC recomputed: only Adler-32 is wrong
    expect(refusal(() => kiln.data.decodeImage(png([['IHDR', ihdr(16, 12)], ['IDAT', badAdler], ['IEND', new Uint8Array()]]), { name: 'a.png' }))).toBe(
      "decodeImage: 'a.png' is a corrupt PNG: the zlib Adler-32 checksum does not match the image data",
    );
    // A 1×1 image whose IDAT inflates to 64 MB: refused at 1 MiB past the image, not inflated whole.
    const flood = png([['IHDR', ihdr(1, 1)], ['IDAT', new Uint8Array(deflateSync(new Uint8Array(64 << 20)))], ['IEND', new Uint8Array()]]);
    expect(refusal(() => kiln.data.decodeImage(flood, { name: 'f.png' }))).toBe("decodeImage: 'f.png' is a corrupt PNG: its image data inflates past the 4 bytes a 1x1 image needs");
    expect(refusal(() => kiln.data.decodeImage(png([['IHDR', ihdr(16, 12)], ['IDAT', image(16, 6)], ['IEND', new Uint8Array()]]), { name: 's.png' }))).toBe(
      "decodeImage: 's.png' is a truncated PNG: image data has 294 of 588 bytes",
    );
    expect(refusal(() => kiln.data.decodeImage(png([['IHDR', ihdr(16, 12, 3, 2)], ['IDAT', z], ['IEND', new Uint8Array()]])))).toBe(
      'decodeImage: image is a corrupt PNG: bit depth 3 with colour type 2',
    );
  });

  it('sizes interlaced (Adam7) image data right: the same pixels as the plain image', () => {
    const w = 13;
    const h = 11;
    const px = (x: number, y: number, c: number): number => (x * 19 + y * 7 + c * 50) & 0xff;
    const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;
    const rows: number[] = [];
    for (const [x0, y0, dx, dy] of passes) {
      const pw = Math.ceil((w - x0) / dx);
      if (pw <= 0) continue;
      for (let y = y0; y < h; y += dy) {
        rows.push(0);
        for (let x = x0; x < w; x += dx) rows.push(px(x, y, 0), px(x, y, 1), px(x, y, 2));
      }
    }
    const interlaced = png([['IHDR', ihdr(w, h, 8, 2, 1)], ['IDAT', new Uint8Array(deflateSync(new Uint8Array(rows)))], ['IEND', new Uint8Array()]]);
    const d = kiln.data.decodeImage(interlaced);
    expect([d.width, d.height]).toEqual([w, h]);
    expect(Array.from(d.data)).toEqual(Array.from({ length: w * h * 3 }, (_, i) => px(Math.floor(i / 3) % w, Math.floor(i / 3 / w), i % 3)));
  });

  it('validates every numeric option of loadImage, loadThermal and loadDepth, naming it, before any work', () => {
    const img = kiln.data.decodeImage(small);
    for (const v of [0, NaN, 2.5, 5000]) expect(refusal(() => kiln.data.loadImage(img, { size: v }))).toBe(`loadImage: size must be an integer in 1..4096, got ${v}`);
    expect(refusal(() => kiln.data.loadImage(img, { mean: [0, NaN, 0] }))).toBe('loadImage: mean[1] must be a finite number, got NaN');
    expect(refusal(() => kiln.data.loadImage(img, { std: [1, 0, 1] }))).toBe('loadImage: std[1] must not be 0');
    expect(refusal(() => kiln.data.loadThermal(img, { std: [Infinity] }))).toBe('loadThermal: std[0] must be a finite number, got Infinity');
    const map = { width: 4, height: 4, data: new Float32Array(16) };
    for (const [k, v] of [['focalLength', NaN], ['baseline', -1], ['depthScale', 0], ['maxDepth', Infinity]] as const)
      expect(refusal(() => kiln.data.loadDepth(map, { [k]: v }))).toBe(`loadDepth: ${k} must be a finite number in (0, Infinity], got ${v}`);
    expect(refusal(() => kiln.data.loadDepth(map, { size: -1 }))).toBe('loadDepth: size must be an integer in 1..4096, got -1');
  });

  it('runs the horizontal pass in windows of rows when an image exceeds a binding: same values, nothing left live', async () => {
    const px = kiln.data.decodeImage(bytes('noise.png'));
    const norm = { mean: kiln.data.CLIP_MEAN, std: kiln.data.CLIP_STD };
    const whole = resizeCropNormalize(px, 24, norm);
    const before = kiln.memory().liveTensors;
    // A stand-in limit of 64 rows and a bit: the 48 rows... of a taller image need several windows.
    const tall = { ...px, height: px.height * 4, data: new Uint8Array(px.data.length * 4).map((_, i) => px.data[i % px.data.length]!) };
    const a = resizeCropNormalize(tall, 24, norm);
    const b = resizeCropNormalize(tall, 24, norm, 'loadImage', 64 * tall.width * 3 + 100);
    expect(kiln.memory().liveTensors).toBe(before + 2);
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    expect(() => resizeCropNormalize(tall, 24, norm, 'loadImage', 63 * tall.width * 3)).toThrow(`loadImage: rows of ${tall.width * 3} bytes are too wide: 64 of them exceed the ${63 * tall.width * 3}-byte binding limit`);
    expect(kiln.memory().liveTensors).toBe(before + 2);
    for (const t of [whole, a, b]) t.dispose();
  });

  it.skipIf(process.env['KILN_TEST_FULL'] !== '1')('loads a 45-megapixel image and a 45-megapixel depth map, past one binding (KILN_TEST_FULL=1)', async () => {
    const w = 8192;
    const h = 5500; // 135 MB of RGB, 180 MB of f32 depth: over the 128 MiB binding
    const data = new Uint8Array(w * h * 3).fill(200);
    const before = kiln.memory().liveTensors;
    const x = kiln.data.loadImage({ width: w, height: h, channels: 3, data });
    const v = await x.data();
    expect(v[0]).toBeCloseTo((200 / 255 - kiln.data.CLIP_MEAN[0]!) / kiln.data.CLIP_STD[0]!, 5);
    x.dispose();
    const y = kiln.data.loadDepth({ width: w, height: h, data: new Float32Array(w * h).fill(1.5) });
    for (const d of new Set(await y.data())) expect(d).toBeCloseTo(1.5, 5); // the f32 taps sum to 1 within rounding
    y.dispose();
    expect(kiln.memory().liveTensors).toBe(before);
  });

  it('frees every tensor it made when it throws partway through the GPU work', () => {
    // Pixels whose bytes cannot be read once the coefficient, intermediate and output tensors exist.
    class Unreadable extends Uint8Array {
      override subarray(): Uint8Array<ArrayBuffer> {
        throw new Error('read failed');
      }
    }
    const px = { width: 32, height: 32, channels: 3, data: new Unreadable(32 * 32 * 3) };
    const before = kiln.memory().liveTensors;
    expect(() => resizeCropNormalize(px, 16, { mean: [0, 0, 0], std: [1, 1, 1] })).toThrow('read failed');
    expect(kiln.memory().liveTensors).toBe(before);
  });

  it('fuzz: mutated PNG and JPEG files load or are refused naming the decoder, leaving no tensor live', async () => {
    const p = await fuzz(small, (b) => kiln.data.loadImage(b, { size: 8 }), { seed: 2106, budgetMs: 1500, maxCases: 600, prefix: /^decodeImage: / });
    expect(p.refused).toBeGreaterThan(p.cases / 2); // CRCs catch most edits
    const j = await fuzz(bytes('photo.jpg'), (b) => kiln.data.decodeImage(b), { seed: 2107, budgetMs: 1500, maxCases: 600, prefix: /^decodeImage: / });
    expect(j.cases).toBeGreaterThan(30);
    const depth = png([['IHDR', ihdr(8, 6, 16, 0)], ['IDAT', new Uint8Array(deflateSync(new Uint8Array(6 * 17).map((_, i) => (i % 17 === 0 ? 0 : i))))], ['IEND', new Uint8Array()]]);
    const d = await fuzz(depth, (b) => kiln.data.loadDepth(b, { focalLength: 500, size: 4 }), { seed: 2109, budgetMs: 1500, maxCases: 400, prefix: /^(decodeImage|loadDepth): / });
    expect(d.refused).toBeGreaterThan(d.cases / 2);
  });
});

describe('videoClips: options', () => {
  it('validates every numeric option, naming it, before any GPU work', () => {
    const f = { width: 8, height: 6, channels: 3, data: new Uint8Array(8 * 6 * 3) };
    const before = kiln.memory().liveTensors;
    const err = (o: kiln.data.VideoClipOptions): string => {
      try {
        kiln.data.videoClips([f, f, f], o).dispose();
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err({ clips: 0 })).toBe('videoClips: clips must be an integer in 1..1024, got 0');
    expect(err({ framesPerClip: NaN })).toBe('videoClips: framesPerClip must be an integer in 1..1024, got NaN');
    expect(err({ size: 0 })).toBe('videoClips: size must be an integer in 1..4096, got 0');
    expect(err({ fps: -Infinity })).toBe('videoClips: fps must be a finite number in (0, Infinity], got -Infinity');
    expect(err({ fps: 30, clipDuration: NaN })).toBe('videoClips: clipDuration must be a finite number in (0, Infinity], got NaN');
    expect(err({ spatialCrops: 2 as 1 })).toBe('videoClips: spatialCrops must be 1 or 3, got 2');
    expect(err({ clips: 1024, framesPerClip: 1024, size: 64 })).toMatch(/^videoClips: 1024 clips of 1024 frames at 64x64 exceed the \d+-byte binding limit of one output$/);
    expect(err({ clips: 2, size: 8 })).toBe('ok');
    expect(kiln.memory().liveTensors).toBe(before);
  });
});
