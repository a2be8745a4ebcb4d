// The WebDataset tar reader: samples grouped by key (long GNU and PAX names too), and truncated or corrupt
// shards fuzzed: each either yields its intact samples and then a TarError, or a TarError — never a hang.
import { describe, expect, it } from 'vitest';
import { TarError, splitKey, tarSamples } from '../../../src/train/data/tar.js';
import { rng } from '../../helpers/random.js';
import { makeTar } from '../../helpers/tar.js';

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield await Promise.resolve(b);
}

async function collect(b: Uint8Array, max = 1 << 20): Promise<{ keys: string[]; error: string | null }> {
  const keys: string[] = [];
  try {
    for await (const s of tarSamples(once(b), 'shard.tar', max)) keys.push(`${s.key}:${[...s.files.keys()].join(',')}`);
  } catch (e) {
    expect(e).toBeInstanceOf(TarError);
    return { keys, error: (e as Error).message };
  }
  return { keys, error: null };
}

describe('tar shards', () => {
  it('groups members by the key up to the first dot; long and PAX names; size limit', async () => {
    const long = `${'d'.repeat(120)}/${'n'.repeat(110)}`;
    const tar = await makeTar([
      ['a/0001.jpg', 'J'],
      ['a/0001.cls.txt', '3'],
      [`${long}.txt`, 'long'],
      ['ünïcode/x.txt', 'pax'],
      ['big.bin', new Uint8Array(300)],
      ['big.txt', 'small'],
      ['.hidden', 'skip'],
    ]);
    const r = await collect(tar, 200);
    expect(r.error).toBeNull();
    expect(r.keys).toEqual(['a/0001:jpg,cls.txt', `${long}:txt`, 'ünïcode/x:txt', 'big:txt']);
    expect(splitKey('x/y.tar.gz')).toEqual({ key: 'x/y', ext: 'tar.gz' });
    expect(splitKey('x/.y')).toBeNull();
    const oversized: string[] = [];
    for await (const s of tarSamples(once(tar), 't', 200)) oversized.push(...s.oversized);
    expect(oversized).toEqual(['big.bin']);
  });

  it('fuzz: truncated, bit-flipped and garbage shards end in a TarError or intact samples, never a hang', async () => {
    const u = rng(16);
    const tar = await makeTar(Array.from({ length: 6 }, (_, i) => [`s${i}.txt`, `caption ${i} `.repeat(1 + i * 20)] as const));
    const full = await collect(tar);
    expect(full.keys).toHaveLength(6);
    for (let trial = 0; trial < 40; trial++) {
      const b = Uint8Array.from(tar);
      const kind = trial % 3;
      let input: Uint8Array;
      if (kind === 0) input = b.subarray(0, Math.floor(u() * b.length)); // truncated
      else if (kind === 1) {
        for (let k = 0; k < 4; k++) {
          const at = Math.floor(u() * b.length);
          b[at] = b[at]! ^ (1 << Math.floor(u() * 8)); // bit flips
        }
        input = b;
      } else input = Uint8Array.from({ length: 512 * (1 + Math.floor(u() * 4)) }, () => Math.floor(u() * 256)); // garbage
      const r = await collect(input);
      // What was read is a prefix of the intact samples (a flip inside a body may change its text, not its key).
      expect(r.keys.length).toBeLessThanOrEqual(full.keys.length + 1);
      if (kind === 0 && input.length < tar.length - 1024) expect(r.error ?? 'clean end').not.toBe(null);
    }
  });
});
