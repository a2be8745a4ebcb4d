// A small generated image–caption set for smoke runs, tests and the README's LoRA walkthrough: PNGs of a
// coloured shape on a noisy background and a caption naming the colour and the shape, in OpenCLIP's CSV
// layout (captions.tsv with `filepath` and `title` columns, images/). Class-structured, not real data.

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { hash32, uniformStream } from './dataset.js';

const COLOURS: readonly (readonly [string, readonly [number, number, number]])[] = [
  ['red', [220, 40, 40]],
  ['green', [40, 190, 60]],
  ['blue', [40, 70, 220]],
  ['yellow', [230, 210, 40]],
];
const SHAPES = ['square', 'circle', 'stripe'] as const;
const TEMPLATES = ['a {c} {s}', 'a photo of a {c} {s}', 'a {c} {s} on a grey background', 'a small {c} {s}'];

export interface CaptionSetOptions {
  /** Rows to write (default 96). */
  readonly count?: number;
  /** Image side in pixels (default 32). */
  readonly imageSize?: number;
  readonly seed?: number;
}

async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/** Whether pixel (x, y) of an n×n image lies in `shape` centred at (cx, cy) with half-size r. */
function inside(shape: (typeof SHAPES)[number], x: number, y: number, cx: number, cy: number, r: number): boolean {
  if (shape === 'square') return Math.abs(x - cx) <= r && Math.abs(y - cy) <= r;
  if (shape === 'circle') return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
  return Math.abs(y - cy) <= r / 3; // a horizontal stripe across the image
}

/**
 * Writes `count` images and `captions.tsv` under `dir`; returns the captions file's path. Row i shows
 * colour and shape of class i mod 12 at a random place and size, drawn from (seed, i).
 * @example const captions = await kiln.train.makeCaptionSet('data/shapes', { count: 96 });
 */
export async function makeCaptionSet(dir: string, opts: CaptionSetOptions = {}): Promise<string> {
  const count = opts.count ?? 96;
  const n = opts.imageSize ?? 32;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(count) || count < 1) throw new Error(`makeCaptionSet: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(n) || n < 8) throw new Error(`makeCaptionSet: imageSize must be an integer ≥ 8, got ${n}`);
  await mkdir(join(dir, 'images'), { recursive: true });
  const lines = ['filepath\ttitle'];
  for (let i = 0; i < count; i++) {
    const [colour, rgb] = COLOURS[i % COLOURS.length]!;
    const shape = SHAPES[Math.floor(i / COLOURS.length) % SHAPES.length]!;
    const u = uniformStream(hash32(seed, 0xca9, i));
    const r = n * (0.15 + 0.15 * u());
    const cx = r + u() * (n - 2 * r);
    const cy = r + u() * (n - 2 * r);
    const px = new Uint8Array(n * n * 3);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const on = inside(shape, x, y, cx, cy, r);
        for (let c = 0; c < 3; c++) px[(y * n + x) * 3 + c] = Math.max(0, Math.min(255, (on ? rgb[c]! : 128) + Math.round((u() - 0.5) * 40)));
      }
    const name = `images/${String(i).padStart(4, '0')}.png`;
    await writeAtomic(join(dir, name), encode({ width: n, height: n, data: px, channels: 3, depth: 8 }));
    const caption = TEMPLATES[Math.floor(u() * TEMPLATES.length)]!.replace('{c}', colour).replace('{s}', shape);
    lines.push(`${name}\t${caption}`);
  }
  const file = join(dir, 'captions.tsv');
  await writeAtomic(file, `${lines.join('\n')}\n`);
  return file;
}
