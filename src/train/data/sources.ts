// Where a file-backed epoch's samples come from, in the epoch's order: a manifest (a permutation of its
// records drawn from (seed, epoch)) or tar shards (a shard order drawn from (seed, epoch), then a shuffle
// buffer within each shard). Both start at any position of the order: a manifest by index, shards by
// skipping whole shards and replaying the one the position falls in from its start through its buffer.

import { readFile } from 'node:fs/promises';
import { epochPermutation, hash32, uniformStream } from '../dataset.js';
import type { ManifestRecord } from './manifest.js';
import { TarError, type TarSample, tarFileSamples } from './tar.js';

/** One file of a sample, not yet decoded; `bytes` null when it could not be read (`problem` says why). */
export interface RawFile {
  readonly modality: string;
  readonly ext: string;
  readonly name: string;
  readonly bytes: Uint8Array | null;
  readonly problem?: { readonly reason: string; readonly message: string };
}

/** One sample in the epoch's order. `key` numbers it for its randomness (fixed across epochs). */
export interface RawSample {
  readonly name: string;
  readonly key: readonly number[];
  readonly captions: readonly string[] | null;
  /** Modality → timestamp in seconds (manifests that give them). */
  readonly times: Readonly<Record<string, number>>;
  /** Its files, read on demand (a manifest reads from disk; a shard has them already). */
  load(): Promise<RawFile[]>;
}

export interface Source {
  /** Samples per epoch before any is skipped or filtered. */
  readonly size: number;
  /** The epoch's samples from position `cursor` of its order on. */
  samples(epoch: number, cursor: number): AsyncGenerator<RawSample>;
}

const ext = (path: string): string => {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash ? path.slice(dot + 1).toLowerCase() : '';
};

async function readRaw(modality: string, path: string): Promise<RawFile> {
  try {
    return { modality, ext: ext(path), name: path, bytes: await readFile(path) };
  } catch (e) {
    const code = (e as { code?: string }).code;
    const reason = code === 'ENOENT' ? 'missing' : 'unreadable';
    return { modality, ext: ext(path), name: path, bytes: null, problem: { reason, message: `${path}: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

/** A manifest's records, shuffled per epoch (or in order). */
export class ManifestSource implements Source {
  readonly size: number;
  constructor(readonly records: readonly ManifestRecord[], readonly seed: number, readonly shuffle: boolean) {
    this.size = records.length;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- an async generator to fit Source; the reads happen in load()
  async *samples(epoch: number, cursor: number): AsyncGenerator<RawSample> {
    const order = this.shuffle ? epochPermutation(this.size, this.seed, epoch) : null;
    for (let k = cursor; k < this.size; k++) {
      const i = order ? order[k]! : k;
      const r = this.records[i]!;
      yield { name: r.name, key: [i], captions: r.captions, times: r.times, load: () => Promise.all(Object.entries(r.paths).map(([m, p]) => readRaw(m, p))) };
    }
  }
}

/** webdataset's shuffle: a buffer of `size`; each arrival swaps out a random resident once full; drained at the end. */
export async function* shuffleBuffer<T>(items: AsyncIterable<T>, size: number, u: () => number): AsyncGenerator<T> {
  const buf: T[] = [];
  const take = (): T => {
    const j = Math.floor(u() * buf.length);
    const out = buf[j]!;
    buf[j] = buf[buf.length - 1]!;
    buf.pop();
    return out;
  };
  for await (const x of items) {
    buf.push(x);
    if (buf.length >= size) yield take();
  }
  while (buf.length > 0) yield take();
}

/** Tar shards: the shard order and each shard's buffer are drawn from (seed, epoch); `counts` are samples per shard. */
export class TarSource implements Source {
  readonly size: number;
  constructor(
    readonly shards: readonly string[],
    readonly counts: readonly number[],
    readonly opts: { readonly seed: number; readonly shuffle: boolean; readonly buffer: number; readonly maxMemberBytes: number; readonly extensions: Readonly<Record<string, readonly string[]>> },
  ) {
    this.size = counts.reduce((a, b) => a + b, 0);
  }

  /** Counts each shard's samples (one pass over the headers and bodies, nothing decoded); a damaged shard's tail counts as one. */
  static async count(shards: readonly string[], maxMemberBytes: number): Promise<number[]> {
    const out: number[] = [];
    for (const s of shards) {
      let n = 0;
      for await (const _ of readShard(s, maxMemberBytes)) n++;
      out.push(n);
    }
    return out;
  }

  private raw(shard: number, ordinal: number, s: TarSample): RawSample {
    const name = `${this.shards[shard]}:${s.key}`;
    const files: RawFile[] = Object.entries(this.opts.extensions).map(([m, exts]) => {
      const e = exts.find((x) => s.files.has(x));
      if (e !== undefined) return { modality: m, ext: e, name: `${name}.${e}`, bytes: s.files.get(e)! };
      const big = s.oversized.find((o) => exts.some((x) => o.toLowerCase().endsWith(`.${x}`)));
      return big
        ? { modality: m, ext: '', name, bytes: null, problem: { reason: 'tooLarge', message: `${big} is larger than data.maxMemberBytes (${this.opts.maxMemberBytes})` } }
        : { modality: m, ext: '', name, bytes: null, problem: { reason: 'incomplete', message: `${name} has no ${exts.map((x) => `.${x}`).join(' or ')} file for ${m}` } };
    });
    return { name, key: [shard, ordinal], captions: null, times: {}, load: () => Promise.resolve(files) };
  }

  /** A shard's samples in file order; a damaged shard's tail is one sample that is skipped as corrupt. */
  private async *shardSamples(shard: number): AsyncGenerator<RawSample> {
    let ordinal = 0;
    for await (const s of readShard(this.shards[shard]!, this.opts.maxMemberBytes)) {
      if (s instanceof TarError) {
        const bad: RawFile = { modality: '', ext: '', name: this.shards[shard]!, bytes: null, problem: { reason: 'corrupt', message: s.message } };
        yield { name: bad.name, key: [shard, ordinal++], captions: null, times: {}, load: () => Promise.resolve([bad]) };
      } else yield this.raw(shard, ordinal++, s);
    }
  }

  async *samples(epoch: number, cursor: number): AsyncGenerator<RawSample> {
    const o = this.opts;
    const order = o.shuffle ? epochPermutation(this.shards.length, hash32(o.seed, 0x5a4d), epoch) : Int32Array.from(this.shards.keys());
    let before = 0;
    for (const shard of order) {
      const n = this.counts[shard]!;
      if (before + n <= cursor) {
        before += n; // wholly consumed before the position: not even opened
        continue;
      }
      const raws = this.shardSamples(shard);
      const stream = o.shuffle ? shuffleBuffer(raws, o.buffer, uniformStream(hash32(o.seed, 0xb0f, epoch, shard))) : raws;
      for await (const r of stream) {
        // Replaying the shard from its start up to the position: the buffer sees every sample again.
        if (before++ >= cursor) yield r;
      }
    }
  }
}

/** A shard's samples, then its TarError (if damaged) as a last item: what was intact is still used. */
async function* readShard(path: string, maxMemberBytes: number): AsyncGenerator<TarSample | TarError> {
  try {
    yield* tarFileSamples(path, maxMemberBytes);
  } catch (e) {
    if (!(e instanceof TarError)) throw e;
    yield e;
  }
}
