// Seeded mutation fuzzing of the file readers: truncations, bit flips, byte overwrites and structural edits
// (spans deleted, duplicated, inserted; length fields rewritten), each run under a time budget, asserting
// the readers' rule: a result or an Error naming the reader, never a hang, a bare error or a live tensor.
import { expect } from 'vitest';
import * as kiln from '../../src/node.js';
import { rng } from './random.js';

/** One edit of a file; `r` draws uniform numbers in [0, 1). */
export type Mutation = (b: Uint8Array, r: () => number) => Uint8Array;

const int = (r: () => number, n: number): number => Math.floor(r() * n);

/** Cuts the file at a random length. */
export const truncate: Mutation = (b, r) => b.slice(0, int(r, b.length));

/** Flips one to four random bits. */
export const flipBits: Mutation = (b, r) => {
  const out = b.slice();
  for (let k = 0; k < 1 + int(r, 4); k++) {
    const i = int(r, out.length);
    out[i] = out[i]! ^ (1 << int(r, 8));
  }
  return out;
};

/** Overwrites one to four random bytes, half the time with a boundary value (0, 0xff, 0x7f, 0x80). */
export const overwriteBytes: Mutation = (b, r) => {
  const out = b.slice();
  for (let k = 0; k < 1 + int(r, 4); k++) out[int(r, out.length)] = r() < 0.5 ? [0, 0xff, 0x7f, 0x80][int(r, 4)]! : int(r, 256);
  return out;
};

/** Deletes, duplicates or inserts random bytes in a span of up to 64 bytes. */
export const editSpan: Mutation = (b, r) => {
  const at = int(r, b.length + 1);
  const len = 1 + int(r, 64);
  const kind = int(r, 3);
  if (kind === 0) return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + len)]);
  const piece = kind === 1 ? b.slice(at, at + len) : Uint8Array.from({ length: len }, () => int(r, 256));
  return new Uint8Array([...b.subarray(0, at), ...piece, ...b.subarray(at)]);
};

/** Writes a boundary value (0, 1, 2^31 − 1, 2^32 − 1 …) as a little- or big-endian u32 at a random offset, as a length field. */
export const rewriteLength: Mutation = (b, r) => {
  if (b.length < 4) return b.slice();
  const out = b.slice();
  const v = [0, 1, 0x7fffffff, 0xffffffff, 0x10000, b.length, b.length * 2, int(r, 2 ** 32)][int(r, 8)]!;
  new DataView(out.buffer).setUint32(int(r, b.length - 3), v >>> 0, r() < 0.5);
  return out;
};

export const MUTATIONS: readonly Mutation[] = [truncate, flipBits, overwriteBytes, editSpan, rewriteLength];

export interface FuzzOptions {
  readonly seed: number;
  /** Wall-clock budget of the whole run. */
  readonly budgetMs: number;
  /** Cases at most (the budget usually ends the run first on a slow machine). */
  readonly maxCases?: number;
  /** What every error message must start with (the reader's name). */
  readonly prefix: RegExp;
  /** Edits that know the format (a header field rewritten), drawn as often as each generic one. */
  readonly structural?: readonly Mutation[];
}

/** What a reader hands back (or a promise of it): tensors are disposed by the fuzzer, anything else ignored. */
type Result = unknown;

function disposeResult(v: Result): void {
  if (v instanceof kiln.Tensor) v.dispose();
  else if (v instanceof Map) for (const t of v.values()) disposeResult(t);
  else if (Array.isArray(v)) for (const t of v) disposeResult(t);
}

/**
 * Runs `read` on mutations of `good` until the budget or case count runs out. Every throw must be an
 * Error whose message matches `prefix`; no case may leave a tensor live. Returns the counts.
 */
export async function fuzz(good: Uint8Array, read: (b: Uint8Array) => Result, o: FuzzOptions): Promise<{ cases: number; refused: number }> {
  const r = rng(o.seed);
  const muts = [...MUTATIONS, ...(o.structural ?? [])];
  const t0 = performance.now();
  let cases = 0;
  let refused = 0;
  const before = kiln.memory().liveTensors;
  while (cases < (o.maxCases ?? 10_000) && performance.now() - t0 < o.budgetMs) {
    const m = muts[int(r, muts.length)]!;
    let b = m(good, r);
    if (r() < 0.25) b = muts[int(r, muts.length)]!(b, r); // sometimes two edits
    cases++;
    try {
      disposeResult(await read(b));
    } catch (e) {
      refused++;
      expect(e, `seed ${o.seed}, case ${cases}`).toBeInstanceOf(Error);
      expect((e as Error).message, `seed ${o.seed}, case ${cases}`).toMatch(o.prefix);
    }
    expect(kiln.memory().liveTensors, `seed ${o.seed}, case ${cases}: tensors left live`).toBe(before);
  }
  return { cases, refused };
}
