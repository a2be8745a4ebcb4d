// The synthetic scenes: five discrete attributes per sample, which of them each modality carries, and the
// counter-based randomness every draw comes from (a scene from (seed, split, index); its rendering noise
// from (seed, split, epoch, index)). Rendering is in render.ts; the dataset itself in index.ts.

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export const COLOURS = ['red', 'green', 'blue', 'yellow'] as const;
export const SIZES = ['small', 'large'] as const;
/** The quadrant the object sits in (jittered inside it per epoch). */
export const POSITIONS = ['top left', 'top right', 'bottom left', 'bottom right'] as const;
/** Where the object is heading: a trail behind it in the image, an acceleration along that axis in the IMU. */
export const MOTIONS = ['left', 'right', 'up', 'down'] as const;

export const ATTRIBUTES = { shape: SHAPES, colour: COLOURS, size: SIZES, position: POSITIONS, motion: MOTIONS } as const;
export type Attribute = keyof typeof ATTRIBUTES;

/** A scene: each attribute as an index into its list above. */
export type Scene = { readonly [A in Attribute]: number };

export const SYNTHETIC_MODALITIES = ['vision', 'text', 'audio', 'depth', 'thermal', 'imu'] as const;
export type SyntheticModality = (typeof SYNTHETIC_MODALITIES)[number];

/**
 * The attributes each modality carries (what can be recovered from it alone):
 * - vision (RGB): shape, colour, size, position, and motion (a fading trail behind the object);
 * - text (caption): all five — shape, colour, size, position and motion (the image's every attribute, so the
 *   frozen image embedding that stage 2 aligns depth and thermal to has learnt position from the captions);
 * - audio: shape (the waveform: sine, square, triangle or sawtooth) and colour (the pitch);
 * - depth (disparity): shape, size (nearer and larger) and position — no colour;
 * - thermal: shape, size, position and colour (each colour has its own temperature);
 * - imu: motion (acceleration along the axis of travel).
 * Two modalities share the attributes both carry; alignment is learnable through those.
 */
export const CARRIES: { readonly [M in SyntheticModality]: readonly Attribute[] } = {
  vision: ['shape', 'colour', 'size', 'position', 'motion'],
  text: ['shape', 'colour', 'size', 'position', 'motion'],
  audio: ['shape', 'colour'],
  depth: ['shape', 'size', 'position'],
  thermal: ['shape', 'colour', 'size', 'position'],
  imu: ['motion'],
};

/** The attributes both modalities carry. */
export function sharedAttributes(a: SyntheticModality, b: SyntheticModality): Attribute[] {
  return CARRIES[a].filter((x) => CARRIES[b].includes(x));
}

/** The scene's class under a list of attributes: one integer per distinct attribute tuple. */
export function classOf(scene: Scene, attributes: readonly Attribute[]): number {
  let c = 0;
  for (const a of attributes) c = c * ATTRIBUTES[a].length + scene[a];
  return c;
}

/** The number of classes `classOf` can return for these attributes. */
export function classCount(attributes: readonly Attribute[]): number {
  return attributes.reduce((n, a) => n * ATTRIBUTES[a].length, 1);
}

/** The words of a class, e.g. { shape: 'circle', colour: 'red' }. */
export function classWords(c: number, attributes: readonly Attribute[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = attributes.length - 1; i >= 0; i--) {
    const a = attributes[i]!;
    const n = ATTRIBUTES[a].length;
    out[a] = ATTRIBUTES[a][c % n]!;
    c = Math.floor(c / n);
  }
  return out;
}

// ---- randomness ----------------------------------------------------------------------------------------

/** A 32-bit key of a few integers (xorshift-multiply rounds, as splitmix's finaliser). */
export function key(...xs: readonly number[]): number {
  let h = 0x2545f491;
  for (const x of xs) {
    h ^= x >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A small generator (splitmix32) with the draws the renderers need. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  /** n standard normals, both of each Box–Muller pair used (half the draws and transcendentals of n normal() calls). */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const rho = Math.sqrt(-2 * Math.log(1 - this.next()));
      const theta = 2 * Math.PI * this.next();
      out[i] = rho * Math.cos(theta);
      if (i + 1 < n) out[i + 1] = rho * Math.sin(theta);
    }
    return out;
  }
}

/** Stream tags: a scene, its per-epoch rendering, and the two splits never share a stream. */
export const STREAM = { scene: 1, render: 2, audio: 3, train: 11, heldOut: 12 } as const;

/** The scene of sample `index` of a split: uniform over all attribute tuples, fixed across epochs. */
export function sampleScene(seed: number, split: number, index: number): Scene {
  const r = new Rng(key(seed, split, STREAM.scene, index));
  return { shape: r.int(SHAPES.length), colour: r.int(COLOURS.length), size: r.int(SIZES.length), position: r.int(POSITIONS.length), motion: r.int(MOTIONS.length) };
}
