// Reading and writing BPE merges files in CLIP's format (`bpe_simple_vocab_16e6.txt.gz`): UTF-8 text,
// gzipped, a version header on the first line, then one merge `left right` per line, best first.
// Works in Node (fs, zlib) and in browsers (fetch, DecompressionStream). Not the tokeniser itself.

import { isNode, nodeImport } from '../device/host.js';

/** A merge: the two symbols joined, best (lowest rank) first in a list. */
export type Merge = readonly [string, string];

/** The header line CLIP's file starts with; any first line is accepted when reading. */
export const MERGES_HEADER = '#version: 0.2';

/** Where a merges file comes from: a file path or URL (read, never downloaded implicitly), or its bytes. */
export type MergesSource = string | URL | Uint8Array | ArrayBuffer;

/** Parses a merges file's text: skips the first (header) line and blank lines; keeps at most maxMerges. */
export function parseMerges(text: string, maxMerges = Infinity): Merge[] {
  const lines = text.split('\n');
  const merges: Merge[] = [];
  for (let i = 1; i < lines.length && merges.length < maxMerges; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new Error(`merges file: line ${i + 1} is not 'left right': ${JSON.stringify(line)}`);
    merges.push([parts[0]!, parts[1]!]);
  }
  return merges;
}

/** A merges file's text: the header line, then one merge per line, with a final newline. */
export function formatMerges(merges: readonly Merge[], header = MERGES_HEADER): string {
  return [header, ...merges.map(([a, b]) => `${a} ${b}`)].join('\n') + '\n';
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (isNode()) {
    const zlib = await nodeImport<typeof import('node:zlib')>('node:zlib');
    return zlib.gunzipSync(bytes);
  }
  if (typeof DecompressionStream === 'undefined') throw new Error('merges file: gzip needs node:zlib or DecompressionStream');
  const stream = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Gzips bytes (Node's zlib, or CompressionStream in browsers). */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (isNode()) {
    const zlib = await nodeImport<typeof import('node:zlib')>('node:zlib');
    return zlib.gzipSync(bytes, { level: 9 });
  }
  const stream = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function readSource(src: string | URL): Promise<Uint8Array> {
  const url = typeof src === 'string' ? null : src;
  if (url === null || url.protocol === 'file:') {
    const fs = await nodeImport<typeof import('node:fs/promises')>('node:fs/promises');
    return fs.readFile(src);
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`merges file: could not load ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The text of a merges file, gunzipped when it starts with gzip's magic bytes. */
export async function readMergesText(src: MergesSource): Promise<string> {
  let bytes = typeof src === 'string' || src instanceof URL ? await readSource(src) : src instanceof Uint8Array ? src : new Uint8Array(src);
  if (isGzip(bytes)) bytes = await gunzip(bytes);
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
