// WebDataset-style tar shards read as streams (tar-stream, which handles PAX and GNU long names): the
// members are grouped into samples, a sample being the consecutive files that share a key — the path up to
// the first dot of the file name (`dir/0001.jpg`, `dir/0001.txt` → key `dir/0001`). Not an archiver: only
// regular files are kept, and no member is larger than the caller's limit (memory stays bounded).

import { createReadStream } from 'node:fs';
import { extract } from 'tar-stream';

/** One sample of a shard: its key and its files by extension (`jpg`, `cls.txt`, …, lower case). */
export interface TarSample {
  readonly key: string;
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Members of this sample over the size limit (their bodies were skipped, not read). */
  readonly oversized: readonly string[];
}

/** A shard that cannot be read: truncated, not a tar, or unreadable. */
export class TarError extends Error {
  override readonly name = 'TarError';
}

/** Splits a member path into WebDataset's key and extension: up to / after the first dot of the base name. */
export function splitKey(path: string): { key: string; ext: string } | null {
  const slash = path.lastIndexOf('/');
  const dot = path.indexOf('.', slash + 1);
  if (dot <= slash + 1) return null; // no extension, or a dot file: not part of a sample
  return { key: path.slice(0, dot), ext: path.slice(dot + 1).toLowerCase() };
}

/**
 * The samples of a tar byte stream, in order. `maxMemberBytes` bounds what one member may hold (larger
 * ones are skipped and listed in `oversized`). Throws TarError naming `name` on a truncated or corrupt
 * stream; samples read before the damage have already been yielded.
 */
export async function* tarSamples(source: AsyncIterable<Uint8Array>, name: string, maxMemberBytes: number): AsyncGenerator<TarSample> {
  const ex = extract();
  // Feed the parser from the source; errors of either end surface from the iteration below.
  const feed = (async () => {
    try {
      for await (const chunk of source) if (!ex.write(chunk)) await new Promise<void>((r) => ex.once('drain', () => r()));
      ex.end(undefined);
    } catch (e) {
      ex.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  })();
  let current: { key: string; files: Map<string, Uint8Array>; oversized: string[] } | null = null;
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const parts = h.type === 'file' || h.type === 'contiguous-file' ? splitKey(h.name.replace(/^\.\//, '')) : null;
      if (!parts) {
        entry.resume();
        continue;
      }
      if (current && current.key !== parts.key) {
        yield current;
        current = null;
      }
      current ??= { key: parts.key, files: new Map(), oversized: [] };
      const size = h.size ?? 0;
      if (size > maxMemberBytes) {
        current.oversized.push(h.name);
        entry.resume();
        continue;
      }
      const body = new Uint8Array(size);
      let at = 0;
      for await (const c of entry as AsyncIterable<Uint8Array>) {
        if (at + c.length > size) throw new TarError(`${name}: member ${h.name} is longer than its header's ${size} bytes`);
        body.set(c, at);
        at += c.length;
      }
      if (at !== size) throw new TarError(`${name}: member ${h.name} ends after ${at} of ${size} bytes (truncated shard)`);
      current.files.set(parts.ext, body);
    }
  } catch (e) {
    if (e instanceof TarError) throw e;
    throw new TarError(`${name}: not a readable tar shard: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    ex.destroy();
    await feed;
  }
  if (current) yield current;
}

/** The samples of a tar file on disk (read in 1 MiB chunks). */
export function tarFileSamples(path: string, maxMemberBytes: number): AsyncGenerator<TarSample> {
  return tarSamples(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>, path, maxMemberBytes);
}
