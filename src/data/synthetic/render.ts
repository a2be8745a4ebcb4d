// Renders one synthetic scene into each modality's raw form: an RGB image, a disparity map and a thermal
// map of the same 2-D scene, a mono 16 kHz PCM WAV file, a 6-axis IMU trace and a caption string. Pure
// CPU functions of (scene, Rng); normalisation and the audio front end (loadAudio) are in index.ts.

import { CLIP_MEAN, CLIP_STD } from '../image.js';
import { COLOURS, MOTIONS, POSITIONS, type Rng, type Scene, SHAPES, SIZES } from './scene.js';

const RGB: readonly (readonly [number, number, number])[] = [
  [0.9, 0.15, 0.1], // red
  [0.15, 0.8, 0.2], // green
  [0.15, 0.3, 0.95], // blue
  [0.95, 0.85, 0.1], // yellow
];
/** Each colour's temperature in the thermal map (the order of COLOURS). */
const HEAT = [1, 0.55, 0.3, 0.8];
/** Disparity of a small and a large object (nearer objects look larger and have more disparity). */
const DISPARITY = [0.55, 0.9];
/** Each shape's radius in units of the image size, small and large. */
const RADIUS = [0.14, 0.24];
/** Unit vectors of the motions (image y grows downwards). */
const DIRECTION: readonly (readonly [number, number])[] = [
  [-1, 0],
  [1, 0],
  [0, -1],
  [0, 1],
];

/** Where the object's centre is this epoch, in [0, 1)²: its quadrant's centre plus a small jitter. */
export interface Placement {
  readonly cx: number;
  readonly cy: number;
}

export function place(scene: Scene, r: Rng): Placement {
  const qx = scene.position % 2;
  const qy = Math.floor(scene.position / 2);
  return { cx: 0.25 + 0.5 * qx + r.range(-0.06, 0.06), cy: 0.25 + 0.5 * qy + r.range(-0.06, 0.06) };
}

/** Signed distance (negative inside) of (x, y) from each shape of radius `rad` centred at the origin (SHAPES' order). */
const SDF: readonly ((x: number, y: number, rad: number) => number)[] = [
  (x, y, rad) => Math.hypot(x, y) - rad, // circle
  (x, y, rad) => Math.max(Math.abs(x), Math.abs(y)) - rad * 0.85, // square
  (x, y, rad) => Math.max(y - rad * 0.8, -y * 0.5 + Math.abs(x) * 0.866 - rad * 0.45), // upward triangle: below both slanted edges, above the base
  (x, y, rad) => Math.min(Math.max(Math.abs(x) - rad * 0.3, Math.abs(y) - rad), Math.max(Math.abs(y) - rad * 0.3, Math.abs(x) - rad)), // cross
];

/**
 * The motion trail: [distance behind the object in image widths, opacity] of each copy, the object first. A
 * dense smear of fading copies rather than a few faint ones: a patch on the object's trailing edge then shows
 * a gradient along the motion, which a small ViT picks up (supervised, 200 steps: motion 0.34 with three faint
 * copies, 0.65 with six copies 0.04 apart fading to 0.14, 0.75 with these). Copies blur the outline, so shape
 * is harder to read (bench/NOTES.md, "The trail trades shape for motion").
 */
const TRAIL: readonly (readonly [number, number])[] = [[0, 1], [0.05, 0.9], [0.1, 0.8], [0.15, 0.7], [0.2, 0.6], [0.25, 0.5], [0.3, 0.4]];

/**
 * The object's coverage map [size²] at the placement (1-pixel soft edge), with the trail behind it along its
 * motion when `trail`. Every shape lies within `rad` of its centre along each axis, so each copy is evaluated
 * only over its bounding box (plus the soft edge); outside it the coverage is exactly 0.
 */
export function coverage(scene: Scene, p: Placement, size: number, trail: boolean): Float32Array {
  const out = new Float32Array(size * size);
  const rad = RADIUS[scene.size]!;
  const sdf = SDF[scene.shape];
  if (!sdf) throw new Error(`synthetic: unknown shape ${scene.shape}`);
  const [dx, dy] = DIRECTION[scene.motion]!;
  const px = 1 / size;
  const reach = rad + px;
  const lo = (c: number): number => Math.max(0, Math.floor((c - reach) * size));
  const hi = (c: number): number => Math.min(size - 1, Math.ceil((c + reach) * size));
  for (const [back, alpha] of trail ? TRAIL : TRAIL.slice(0, 1)) {
    const cx = p.cx - dx * back;
    const cy = p.cy - dy * back;
    for (let yi = lo(cy); yi <= hi(cy); yi++)
      for (let xi = lo(cx); xi <= hi(cx); xi++) {
        const v = alpha * Math.min(1, Math.max(0, 0.5 - sdf((xi + 0.5) / size - cx, (yi + 0.5) / size - cy, rad) / px));
        const i = yi * size + xi;
        if (v > out[i]!) out[i] = v;
      }
  }
  return out;
}

/** RGB [3, size, size], normalised with CLIP's mean and std (as loadImage gives it). */
export function renderImage(scene: Scene, p: Placement, size: number, r: Rng): Float32Array {
  const cov = coverage(scene, p, size, true);
  const rgb = RGB[scene.colour]!;
  const bg = r.range(0.25, 0.45);
  const out = r.normals(3 * size * size);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < size * size; i++) {
      const v = bg * (1 - cov[i]!) + rgb[c]! * cov[i]! + 0.03 * out[c * size * size + i]!;
      out[c * size * size + i] = (v - CLIP_MEAN[c]!) / CLIP_STD[c]!;
    }
  return out;
}

/** Disparity [1, size, size] from the object's coverage without trail: a receding floor (more disparity lower down) and the object, standardised. */
export function renderDepth(scene: Scene, cov: Float32Array, size: number, r: Rng): Float32Array {
  const near = DISPARITY[scene.size]!;
  const out = r.normals(size * size);
  for (let yi = 0; yi < size; yi++)
    for (let xi = 0; xi < size; xi++) {
      const i = yi * size + xi;
      const floor = 0.1 + 0.3 * ((yi + 0.5) / size);
      out[i] = (floor * (1 - cov[i]!) + near * cov[i]! + 0.02 * out[i]! - 0.4) / 0.25;
    }
  return out;
}

/** Thermal [1, size, size] from the object's coverage without trail: the object at its colour's temperature over a cool, noisy background. */
export function renderThermal(scene: Scene, cov: Float32Array, size: number, r: Rng): Float32Array {
  const heat = HEAT[scene.colour]!;
  const out = r.normals(size * size);
  for (let i = 0; i < size * size; i++) out[i] = (0.15 * (1 - cov[i]!) + heat * cov[i]! + 0.03 * out[i]! - 0.3) / 0.3;
  return out;
}

/**
 * IMU [6, samples]: accelerometer x, y, z (gravity on z) then gyroscope x, y, z; the object speeds up along
 * its motion's axis (a half-sine push, one sign throughout). Not a push then a brake: that trace is a full
 * sine period, and left and right (or up and down) then hold the same patches in another order, which a
 * small trunk with near-zero position embeddings cannot tell apart (its IMU embeddings collapsed to one).
 */
export function renderImu(scene: Scene, samples: number, r: Rng): Float32Array {
  const out = new Float32Array(6 * samples);
  const [dx, dy] = DIRECTION[scene.motion]!;
  const amp = r.range(0.8, 1.2);
  const phase = r.range(-0.1, 0.1);
  for (let t = 0; t < samples; t++) {
    const s = Math.sin(Math.PI * Math.min(1, Math.max(0, t / samples + phase))) * amp;
    const at = (ch: number, v: number): void => void (out[ch * samples + t] = v + 0.05 * r.normal());
    at(0, dx * s);
    // Image "up" is the world's +z: the vertical motion shows on z, on top of gravity (1 g).
    at(1, 0);
    at(2, 1 - dy * s);
    at(3, 0);
    at(4, 0);
    at(5, 0);
  }
  return out;
}

export const SAMPLE_RATE = 16000;
/** Fundamental of each colour (the order of COLOURS): octaves apart, so the mel bands separate them. */
const PITCH = [220, 440, 880, 1760];

/** One period's value at phase u ∈ [0, 1) of each shape's waveform (sine, square, triangle, sawtooth). */
function wave(shape: number, u: number): number {
  switch (SHAPES[shape]) {
    case 'circle':
      return Math.sin(2 * Math.PI * u);
    case 'square':
      return u < 0.5 ? 1 : -1;
    case 'triangle':
      return 4 * Math.abs(u - 0.5) - 1;
    case 'cross':
      return 2 * u - 1;
    default:
      throw new Error(`synthetic: unknown shape ${shape}`);
  }
}

/** A mono clip of `seconds`: the shape's waveform at the colour's pitch (slightly detuned), with a little noise. */
export function renderWave(scene: Scene, seconds: number, r: Rng): Float32Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const f = PITCH[scene.colour]! * r.range(0.97, 1.03);
  const gain = r.range(0.3, 0.6);
  const phase = r.next();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = (phase + (f * i) / SAMPLE_RATE) % 1;
    out[i] = gain * wave(scene.shape, u) + 0.01 * r.normal();
  }
  return out;
}

/** A canonical 16-bit PCM mono WAV file of samples in [−1, 1]. */
export function encodeWav(samples: Float32Array, rate = SAMPLE_RATE): Uint8Array {
  const bytes = new Uint8Array(44 + 2 * samples.length);
  const v = new DataView(bytes.buffer);
  const ascii = (at: number, s: string): void => [...s].forEach((ch, i) => v.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + 2 * samples.length, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, 2 * samples.length, true);
  samples.forEach((s, i) => v.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(1, s)) * 32767), true));
  return bytes;
}

/** Caption templates: `{size} {colour} {shape} {position} {motion}` slots, one drawn per sample and epoch. */
export const CAPTION_TEMPLATES = [
  'a {size} {colour} {shape} in the {position} moving {motion}',
  'the {size} {colour} {shape} at the {position} is moving {motion}',
  'a {colour} {shape} of {size} size in the {position} heading {motion}',
] as const;

/** Fills a template's slots from a map of attribute words. */
export function fillTemplate(template: string, words: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => words[k] ?? m);
}

/** The scene's words for the caption slots. */
export function sceneWords(scene: Scene): Record<string, string> {
  return { shape: SHAPES[scene.shape]!, colour: COLOURS[scene.colour]!, size: SIZES[scene.size]!, position: POSITIONS[scene.position]!, motion: MOTIONS[scene.motion]! };
}
