// Kiln's own zlib inflater (the browser fallback for PNG image data) against Node's zlib: the same bytes
// for every stream zlib writes (stored, fixed and dynamic blocks, every strategy), and the same verdict
// on mutated streams; the output limit and the Adler-32 trailer.
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateBounded } from '../../src/data/decode.js';
import { InflateError, adler32, inflateZlib } from '../../src/data/inflate.js';
import { MUTATIONS } from '../helpers/fuzz.js';
import { rng } from '../helpers/random.js';

const r = rng(2111);
/** Byte equality (vitest's deep equality walks a typed array element by element, slowly). */
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
const kinds: [string, (n: number) => Uint8Array][] = [
  ['random', (n) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256))],
  ['zeros', (n) => new Uint8Array(n)],
  ['text', (n) => new TextEncoder().encode('the quick brown fox jumps over the lazy dog; '.repeat(Math.ceil(n / 45))).subarray(0, n)],
  ['ramps', (n) => Uint8Array.from({ length: n }, (_, i) => (i % 251) + ((i >> 10) & 3))],
];

describe('inflateZlib', () => {
  it("gives zlib's bytes for every level and strategy, and its Adler-32", () => {
    for (const [kind, make] of kinds)
      for (const n of [0, 1, 100, 70000])
        for (const level of [0, 1, 6, 9])
          for (const strategy of [constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE]) {
            const data = make(n);
            const z = new Uint8Array(deflateSync(data, { level, strategy }));
            expect(same(inflateZlib(z, n), data), `${kind} ${n} level ${level} strategy ${strategy}`).toBe(true);
          }
    const d = kinds[0]![1](5000);
    const z = new Uint8Array(deflateSync(d));
    expect(adler32(d)).toBe(new DataView(z.buffer).getUint32(z.length - 4));
  });

  it('refuses a checksum mismatch, an output past the limit and every truncation, by kind', () => {
    const data = kinds[2]![1](3000);
    const z = new Uint8Array(deflateSync(data));
    const kindOf = (f: () => unknown): string => {
      try {
        f();
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(InflateError);
        return (e as InflateError).kind;
      }
    };
    const bad = z.slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    expect(kindOf(() => inflateZlib(bad, 3000))).toBe('adler');
    expect(kindOf(() => inflateZlib(z, 2999))).toBe('too-large');
    expect(kindOf(() => inflateZlib(z, 3000))).toBe('ok');
    for (let n = 0; n < z.length; n++) expect(kindOf(() => inflateZlib(z.subarray(0, n), 3000)), `cut at ${n}`).toBe('corrupt');
    expect(kindOf(() => inflateBounded(bad, 3000))).toBe('adler'); // Node's zlib, mapped to the same kinds
    expect(kindOf(() => inflateBounded(z, 2999))).toBe('too-large');
  });

  it('agrees with zlib on mutated streams: the same bytes where zlib inflates, refused where it refuses', () => {
    let agreed = 0;
    const t0 = performance.now();
    for (let i = 0; i < 3000 && performance.now() - t0 < 1500; i++) {
      const [, make] = kinds[i % kinds.length]!;
      const data = make(200 + (i % 7) * 300);
      let z: Uint8Array = new Uint8Array(deflateSync(data, { level: i % 10, strategy: i % 5 === 0 ? constants.Z_FIXED : constants.Z_DEFAULT_STRATEGY }));
      z = MUTATIONS[i % MUTATIONS.length]!(z, r);
      let ref: Uint8Array | null = null;
      try {
        ref = new Uint8Array(inflateSync(z, { maxOutputLength: 1 << 16 }));
      } catch {
        ref = null;
      }
      let got: Uint8Array | null = null;
      try {
        got = inflateZlib(z, 1 << 16);
      } catch (e) {
        expect(e, `case ${i}`).toBeInstanceOf(InflateError);
      }
      expect(got === null || ref === null ? got === ref : same(got, ref), `case ${i}`).toBe(true);
      agreed++;
    }
    expect(agreed).toBeGreaterThan(200);
  });
});
