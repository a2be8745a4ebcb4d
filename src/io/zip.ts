// A read-only ZIP reader that reads archives by byte ranges (a file handle, a Blob or bytes in memory):
// central directory, ZIP64 records, stored and deflated entries, CRC-32 checks. Not a writer, and it
// never extracts to disk; every size and offset is checked against the archive before it is used.

/** Random access to an archive's bytes. `read` returns a fresh, unshared buffer of exactly `length` bytes. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_MIN = 56;
const CENTRAL_MIN = 46;
const LOCAL_MIN = 30;
/** The central directory of an archive of even a huge model is kilobytes; more is refused, not allocated. */
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;
/** Deflate cannot expand better than ~1032:1, so a larger declared ratio is a lie. */
const MAX_DEFLATE_RATIO = 1100;
/** One read() call of Node's fs is limited to 2 GiB; larger ranges are read in pieces. */
const READ_CHUNK = 1 << 30;

/** Bytes already in memory. */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, length) {
      checkRange('zip', offset, length, bytes.length);
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
    close: () => Promise.resolve(),
  };
}

/** A Blob or File (browsers): ranges are read with slice(), never the whole file. */
export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    async read(offset, length) {
      checkRange('zip', offset, length, blob.size);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    close: () => Promise.resolve(),
  };
}

/** A file on disk (Node): opened once, read by ranges, closed by close(). */
export async function fileSource(path: string): Promise<ByteSource> {
  const fsName = 'node:fs/promises'; // computed, so browser bundles do not try to include it
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  const fh = await fs.open(path, 'r');
  let size: number;
  try {
    size = (await fh.stat()).size;
  } catch (e) {
    await fh.close();
    throw e;
  }
  return {
    size,
    async read(offset, length) {
      checkRange('zip', offset, length, size);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = Math.min(READ_CHUNK, length - done);
        const { bytesRead } = await fh.read(out, done, n, offset + done);
        if (bytesRead === 0) throw new Error(`zip: ${path} ended at byte ${offset + done} while reading ${length} bytes at ${offset} (file changed while reading?)`);
        done += bytesRead;
      }
      return out;
    },
    close: () => fh.close(),
  };
}

function checkRange(what: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size)
    throw new Error(`${what}: range [${offset}, ${offset + length}) is outside the archive of ${size} bytes (truncated or corrupt)`);
}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** A 64-bit little-endian size or offset; values past 2^53 cannot be a real position and are refused. */
function u64(b: Uint8Array, o: number, what: string): number {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi > 0x1fffff) throw new Error(`zip: ${what} ${((BigInt(hi) << 32n) | BigInt(lo)).toString()} is out of range`);
  return hi * 2 ** 32 + lo;
}

/** The names an extracting tool would place outside its target folder, or that are not file names at all. */
function unsafeName(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.includes('\0')) return 'NUL byte';
  if (name.includes('\\')) return 'backslash';
  if (name.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'drive letter';
  if (name.split('/').some((p) => p === '..')) return "'..' segment";
  return null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function decodeName(bytes: Uint8Array, flags: number): string {
  // Bit 11 marks UTF-8; otherwise the name is CP437, of which ASCII (what torch writes) is the common part.
  if (flags & 0x800) {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new Error('zip: an entry name is not valid UTF-8');
    }
  }
  return latin1.decode(bytes);
}

export class ZipArchive {
  private readonly byName = new Map<string, ZipEntry>();
  /** Each entry's name as the central directory spells it, and its flags, to check the local header against. */
  private readonly central = new WeakMap<ZipEntry, { readonly nameBytes: Uint8Array; readonly flags: number }>();

  private constructor(
    readonly source: ByteSource,
    readonly entries: readonly ZipEntry[],
    /** Where entry data may end: the start of the central directory. */
    private readonly dataEnd: number,
    central: readonly { readonly nameBytes: Uint8Array; readonly flags: number }[],
  ) {
    entries.forEach((e, i) => {
      this.byName.set(e.name, e);
      this.central.set(e, central[i]!);
    });
  }

  /** Reads and validates the central directory; entry data is read later, on demand. */
  static async open(source: ByteSource): Promise<ZipArchive> {
    const size = source.size;
    if (size < EOCD_SIZE) throw new Error(`zip: ${size} bytes is too short for a ZIP archive (truncated?)`);
    // The end-of-central-directory record is the last 22 bytes plus a comment of up to 65535 bytes.
    const tailLen = Math.min(size, EOCD_SIZE + 0xffff + ZIP64_LOCATOR_SIZE);
    const tailStart = size - tailLen;
    const tail = await source.read(tailStart, tailLen);
    let eocd = -1;
    for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
      if (u32(tail, i) === EOCD_SIG && i + EOCD_SIZE + u16(tail, i + 20) <= tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) {
      const head = await source.read(0, Math.min(4, size));
      if (u32(head, 0) === LOCAL_SIG)
        throw new Error('zip: no end-of-central-directory record; the archive is truncated');
      throw new Error('zip: not a ZIP archive (no end-of-central-directory record)');
    }
    const eocdPos = tailStart + eocd;
    if (u16(tail, eocd + 4) !== 0 || u16(tail, eocd + 6) !== 0) throw new Error('zip: multi-disk archives are not supported');
    let count = u16(tail, eocd + 10);
    let cdSize = u32(tail, eocd + 12);
    let cdOffset = u32(tail, eocd + 16);
    let cdEnd = eocdPos;

    // ZIP64: a locator just before the EOCD points to the ZIP64 EOCD record with 64-bit counts and offsets.
    const loc = eocd - ZIP64_LOCATOR_SIZE;
    if (loc >= 0 && u32(tail, loc) === ZIP64_LOCATOR_SIG) {
      const recPos = u64(tail, loc + 8, 'ZIP64 end-of-central-directory offset');
      if (u32(tail, loc + 16) > 1) throw new Error('zip: multi-disk archives are not supported');
      if (recPos + ZIP64_EOCD_MIN > tailStart + loc)
        throw new Error(`zip: ZIP64 end-of-central-directory offset ${recPos} is past the end of the archive (${size} bytes)`);
      const rec = await source.read(recPos, ZIP64_EOCD_MIN);
      if (u32(rec, 0) !== ZIP64_EOCD_SIG) throw new Error(`zip: no ZIP64 end-of-central-directory record at offset ${recPos}`);
      const count64 = u64(rec, 32, 'ZIP64 entry count');
      cdSize = u64(rec, 40, 'ZIP64 central directory size');
      cdOffset = u64(rec, 48, 'ZIP64 central directory offset');
      count = count64;
      cdEnd = recPos;
    } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new Error('zip: the archive needs ZIP64 records but has no ZIP64 locator (truncated or corrupt)');
    }

    if (cdOffset + cdSize > cdEnd)
      throw new Error(`zip: central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end at ${cdEnd} (archive of ${size} bytes; truncated or corrupt)`);
    if (cdSize > MAX_CENTRAL_DIRECTORY) throw new Error(`zip: central directory of ${cdSize} bytes exceeds the ${MAX_CENTRAL_DIRECTORY}-byte limit`);
    if (count * CENTRAL_MIN > cdSize) throw new Error(`zip: ${count} entries cannot fit in a central directory of ${cdSize} bytes`);
    const cd = await source.read(cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    const central: { nameBytes: Uint8Array; flags: number }[] = [];
    const seen = new Set<string>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + CENTRAL_MIN > cdSize || u32(cd, p) !== CENTRAL_SIG) throw new Error(`zip: central directory entry ${i} is malformed (at offset ${cdOffset + p})`);
      const flags = u16(cd, p + 8);
      const method = u16(cd, p + 10);
      const crc32 = u32(cd, p + 16);
      let compressedSize = u32(cd, p + 20);
      let uncompressedSize = u32(cd, p + 24);
      const nameLen = u16(cd, p + 28);
      const extraLen = u16(cd, p + 30);
      const commentLen = u16(cd, p + 32);
      const disk = u16(cd, p + 34);
      let localHeaderOffset = u32(cd, p + 42);
      const end = p + CENTRAL_MIN + nameLen + extraLen + commentLen;
      if (end > cdSize) throw new Error(`zip: central directory entry ${i} runs past the directory's end`);
      const name = decodeName(cd.subarray(p + CENTRAL_MIN, p + CENTRAL_MIN + nameLen), flags);
      const why = unsafeName(name);
      if (why) throw new Error(`zip: entry name ${JSON.stringify(name)} is refused (${why})`);
      if (seen.has(name)) throw new Error(`zip: entry name ${JSON.stringify(name)} appears twice`);
      seen.add(name);
      if (disk !== 0 && disk !== 0xffff) throw new Error('zip: multi-disk archives are not supported');

      // The ZIP64 extra field holds, in this order, those of the three fields that are saturated.
      const extra = cd.subarray(p + CENTRAL_MIN + nameLen, p + CENTRAL_MIN + nameLen + extraLen);
      const z64 = findExtra(extra, 0x0001, name);
      let q = 0;
      const take = (what: string): number => {
        if (!z64 || q + 8 > z64.length) throw new Error(`zip: entry ${JSON.stringify(name)} has a saturated ${what} but no ZIP64 value for it`);
        const v = u64(z64, q, `${what} of ${JSON.stringify(name)}`);
        q += 8;
        return v;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = take('size');
      if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('local header offset');

      if (flags & 0x1) throw new Error(`zip: entry ${JSON.stringify(name)} is encrypted`);
      if (localHeaderOffset + LOCAL_MIN + compressedSize > cdOffset)
        throw new Error(`zip: entry ${JSON.stringify(name)} (${compressedSize} bytes at ${localHeaderOffset}) runs past the start of the central directory at ${cdOffset}`);
      entries.push({ name, method, compressedSize, size: uncompressedSize, crc32, localHeaderOffset });
      central.push({ nameBytes: cd.slice(p + CENTRAL_MIN, p + CENTRAL_MIN + nameLen), flags });
      p = end;
    }
    checkDisjoint(entries, central);
    return new ZipArchive(source, entries, cdOffset, central);
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * Where an entry's data starts: after its local header, whose extra field may differ from the central
   * directory's. The local header must name the same entry with the same method (and, without a data
   * descriptor, the same CRC-32 and sizes), so a directory entry cannot point at another entry's bytes.
   */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const c = this.central.get(entry);
    if (!c) throw new Error(`zip: ${JSON.stringify(entry.name)} is not an entry of this archive`);
    const what = `the local header of ${JSON.stringify(entry.name)} at offset ${entry.localHeaderOffset}`;
    const h = await this.source.read(entry.localHeaderOffset, Math.min(LOCAL_MIN + c.nameBytes.length, this.dataEnd - entry.localHeaderOffset));
    if (h.length < LOCAL_MIN || u32(h, 0) !== LOCAL_SIG) throw new Error(`zip: no local header for ${JSON.stringify(entry.name)} at offset ${entry.localHeaderOffset}`);
    const nameLen = u16(h, 26);
    if (nameLen !== c.nameBytes.length || h.length < LOCAL_MIN + nameLen || c.nameBytes.some((b, i) => h[LOCAL_MIN + i] !== b))
      throw new Error(`zip: ${what} names ${JSON.stringify(latin1.decode(h.subarray(LOCAL_MIN, LOCAL_MIN + nameLen)))}, not the central directory's name (aliased or corrupt entry)`);
    const flags = u16(h, 6);
    if (u16(h, 8) !== entry.method) throw new Error(`zip: ${what} declares compression method ${u16(h, 8)}, the central directory ${entry.method}`);
    if (!(flags & 0x8)) {
      // Without a data descriptor the local header repeats the CRC and sizes (saturated ones live in ZIP64 extras).
      const lc = u32(h, 14);
      const lcomp = u32(h, 18);
      const lsize = u32(h, 22);
      if (lc !== entry.crc32 || (lcomp !== 0xffffffff && lcomp !== entry.compressedSize) || (lsize !== 0xffffffff && lsize !== entry.size))
        throw new Error(`zip: ${what} declares CRC 0x${lc.toString(16)} and sizes ${lcomp}/${lsize}, the central directory 0x${entry.crc32.toString(16)} and ${entry.compressedSize}/${entry.size}`);
    }
    const start = entry.localHeaderOffset + LOCAL_MIN + nameLen + u16(h, 28);
    if (start + entry.compressedSize > this.dataEnd)
      throw new Error(`zip: data of ${JSON.stringify(entry.name)} [${start}, ${start + entry.compressedSize}) runs past the start of the central directory at ${this.dataEnd}`);
    return start;
  }

  /**
   * Reads `length` bytes at `offset` of a stored (uncompressed) entry without reading the rest, for
   * slices of a large tensor storage. Does not check the CRC (it covers the whole entry).
   */
  async readStoredRange(entry: ZipEntry, offset: number, length: number): Promise<Uint8Array> {
    if (entry.method !== 0) throw new Error(`zip: ranges can only be read from stored entries; ${JSON.stringify(entry.name)} is compressed`);
    if (entry.compressedSize !== entry.size) throw new Error(`zip: stored entry ${JSON.stringify(entry.name)} declares ${entry.size} bytes but holds ${entry.compressedSize}`);
    checkRange(`zip: ${JSON.stringify(entry.name)}`, offset, length, entry.size);
    return this.source.read((await this.dataOffset(entry)) + offset, length);
  }

  /** The whole uncompressed entry, CRC-checked unless `checkCrc` is false. */
  async read(entry: ZipEntry, opts: { checkCrc?: boolean; maxSize?: number } = {}): Promise<Uint8Array> {
    // Everything the directory alone can refuse is refused before any data (or local header) is read.
    if (opts.maxSize !== undefined && entry.size > opts.maxSize)
      throw new Error(`zip: entry ${JSON.stringify(entry.name)} declares ${entry.size} bytes, over the ${opts.maxSize}-byte limit for it`);
    if (entry.method === 0 && entry.compressedSize !== entry.size)
      throw new Error(`zip: stored entry ${JSON.stringify(entry.name)} declares ${entry.size} bytes but holds ${entry.compressedSize}`);
    if (entry.method === 8 && entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024)
      throw new Error(`zip: entry ${JSON.stringify(entry.name)} declares ${entry.size} bytes from ${entry.compressedSize} compressed bytes, more than deflate can produce`);
    if (entry.method !== 0 && entry.method !== 8)
      throw new Error(`zip: entry ${JSON.stringify(entry.name)} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
    const start = await this.dataOffset(entry);
    const out =
      entry.method === 0
        ? await this.source.read(start, entry.size)
        : await inflateRaw(await this.source.read(start, entry.compressedSize), entry.size, entry.name);
    if (opts.checkCrc !== false) {
      const c = crc32(out);
      if (c !== entry.crc32) throw new Error(`zip: CRC-32 mismatch in ${JSON.stringify(entry.name)} (0x${c.toString(16)} vs 0x${entry.crc32.toString(16)} declared): corrupt data`);
    }
    return out;
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

/**
 * Entries must not share bytes: each [local header, end of data) range ends before the next begins. Two
 * directory entries aliasing one record would otherwise load the same bytes under two names.
 */
function checkDisjoint(entries: readonly ZipEntry[], central: readonly { readonly nameBytes: Uint8Array }[]): void {
  const spans = entries.map((e, i) => ({ e, end: e.localHeaderOffset + LOCAL_MIN + central[i]!.nameBytes.length + e.compressedSize }));
  spans.sort((a, b) => a.e.localHeaderOffset - b.e.localHeaderOffset);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1]!;
    const b = spans[i]!;
    if (b.e.localHeaderOffset < a.end)
      throw new Error(`zip: entries ${JSON.stringify(a.e.name)} and ${JSON.stringify(b.e.name)} overlap (local headers at ${a.e.localHeaderOffset} and ${b.e.localHeaderOffset}; the first runs to ${a.end})`);
  }
}

function findExtra(extra: Uint8Array, id: number, name: string): Uint8Array | null {
  let p = 0;
  while (p + 4 <= extra.length) {
    const len = u16(extra, p + 2);
    if (p + 4 + len > extra.length) throw new Error(`zip: extra field of ${JSON.stringify(name)} is malformed`);
    if (u16(extra, p) === id) return extra.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  return null;
}

/** Inflates raw deflate data to exactly `size` bytes: Node's zlib where present, DecompressionStream in browsers. */
async function inflateRaw(data: Uint8Array, size: number, name: string): Promise<Uint8Array> {
  let out: Uint8Array;
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (isNode) {
    const zlibName = 'node:zlib';
    const zlib = (await import(/* @vite-ignore */ zlibName)) as typeof import('node:zlib');
    try {
      // maxOutputLength stops a deflate bomb at the declared size (+1 to notice that it is longer).
      const buf = zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, size + 1) });
      out = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      throw new Error(`zip: cannot inflate ${JSON.stringify(name)}: ${(e as Error).message}`);
    }
  } else {
    out = await inflateWithStream(data, size, name);
  }
  if (out.length !== size) throw new Error(`zip: ${JSON.stringify(name)} inflates to ${out.length}${out.length > size ? '+' : ''} bytes, not the ${size} declared`);
  return out;
}

/** The browser path of inflateRaw (DecompressionStream); exported so Node tests can exercise it too. */
export async function inflateWithStream(data: Uint8Array, size: number, name: string): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let n = 0;
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = value as Uint8Array;
      if (n + chunk.length > size) {
        await reader.cancel();
        throw new Error(`zip: ${JSON.stringify(name)} inflates to more than the ${size} bytes declared`);
      }
      out.set(chunk, n);
      n += chunk.length;
    }
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith('zip:') ? msg : `zip: cannot inflate ${JSON.stringify(name)}: ${msg}`);
  }
  return out.subarray(0, n);
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3), the checksum ZIP stores per entry. */
export function crc32(data: Uint8Array, seed = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = ~seed >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
