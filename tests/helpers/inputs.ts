// Paired test inputs: a Kiln tensor and its float64 reference holding the same (f32-rounded) values.
import { afterEach } from 'vitest';
import * as kiln from '../../src/node.js';
import type { DType, Tensor } from '../../src/node.js';
import { ND, numel, type Shape } from './reference.js';
import { randomArray, rng } from './random.js';

export interface Pair {
  readonly t: Tensor;
  readonly ref: ND;
}

export type Domain = 'normal' | 'positive' | 'unit' | 'int';

/** Random values of a domain: normal, positive (0.1..3), unit (−0.9..0.9), int (−5..5). */
export function values(n: number, seed: number, domain: Domain = 'normal'): Float64Array {
  const r = rng(seed);
  switch (domain) {
    case 'normal':
      return randomArray(n, seed);
    case 'positive':
      return Float64Array.from({ length: n }, () => 0.1 + 2.9 * r());
    case 'unit':
      return Float64Array.from({ length: n }, () => -0.9 + 1.8 * r());
    case 'int':
      return Float64Array.from({ length: n }, () => Math.floor(r() * 11) - 5);
  }
}

/** A fresh tensor of `shape` and the reference with identical values. */
export function pair(shape: Shape, seed: number, domain: Domain = 'normal', dtype: DType = 'f32'): Pair {
  const v = values(numel(shape), seed, domain);
  const rounded = dtype === 'f32' || dtype === 'f16' ? Float64Array.from(Float32Array.from(v)) : v;
  const t = kiln.tensor(Float32Array.from(rounded), { shape, dtype });
  return { t, ref: ND.of(rounded, shape) };
}

/** Reads a tensor back as float64 values. */
export async function read(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

/** Returns `keep`, which tracks a tensor a test creates; tracked tensors are disposed after each test. */
export function disposeAfterEach(): <T extends Tensor>(t: T) => T {
  let live: Tensor[] = [];
  afterEach(() => {
    for (const t of live) t.dispose();
    live = [];
  });
  return <T extends Tensor>(t: T): T => {
    live.push(t);
    return t;
  };
}
