// A minimal ZIP writer for tests of the readers (stored and deflated entries, optional ZIP64 fields), and
// the pieces hostile archives are built from. Not a general writer: no data descriptors, no comments.
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/io/zip.js';

export interface WriteEntry {
  readonly name: string;
  readonly data: Uint8Array;
  readonly method?: 0 | 8;
}

const enc = new TextEncoder();

/** A minimal ZIP writer; with zip64 every size and offset goes through the ZIP64 fields. `base` is where the archive starts. */
export function writeZip(entries: readonly WriteEntry[], opts: { zip64?: boolean; base?: number } = {}): Uint8Array {
  const z64 = opts.zip64 ?? false;
  const base = opts.base ?? 0;
  const chunks: Uint8Array[] = [];
  let pos = base;
  const central: Uint8Array[] = [];
  const emit = (b: Uint8Array): void => {
    chunks.push(b);
    pos += b.length;
  };
  for (const e of entries) {
    const name = enc.encode(e.name);
    const method = e.method ?? 0;
    const comp = method === 8 ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data);
    const offset = pos;
    const lh = new DataView(new ArrayBuffer(30 + name.length + (z64 ? 20 : 0)));
    lh.setUint32(0, 0x04034b50, true);
    lh.setUint16(4, z64 ? 45 : 20, true);
    lh.setUint16(6, 0x800, true);
    lh.setUint16(8, method, true);
    lh.setUint32(14, crc, true);
    lh.setUint32(18, z64 ? 0xffffffff : comp.length, true);
    lh.setUint32(22, z64 ? 0xffffffff : e.data.length, true);
    lh.setUint16(26, name.length, true);
    lh.setUint16(28, z64 ? 20 : 0, true);
    new Uint8Array(lh.buffer).set(name, 30);
    if (z64) {
      lh.setUint16(30 + name.length, 1, true);
      lh.setUint16(32 + name.length, 16, true);
      lh.setBigUint64(34 + name.length, BigInt(e.data.length), true);
      lh.setBigUint64(42 + name.length, BigInt(comp.length), true);
    }
    emit(new Uint8Array(lh.buffer));
    emit(comp);
    const ch = new DataView(new ArrayBuffer(46 + name.length + (z64 ? 28 : 0)));
    ch.setUint32(0, 0x02014b50, true);
    ch.setUint16(4, 45, true);
    ch.setUint16(6, z64 ? 45 : 20, true);
    ch.setUint16(8, 0x800, true);
    ch.setUint16(10, method, true);
    ch.setUint32(16, crc, true);
    ch.setUint32(20, z64 ? 0xffffffff : comp.length, true);
    ch.setUint32(24, z64 ? 0xffffffff : e.data.length, true);
    ch.setUint16(28, name.length, true);
    ch.setUint16(30, z64 ? 28 : 0, true);
    ch.setUint32(42, z64 ? 0xffffffff : offset, true);
    new Uint8Array(ch.buffer).set(name, 46);
    if (z64) {
      const x = 46 + name.length;
      ch.setUint16(x, 1, true);
      ch.setUint16(x + 2, 24, true);
      ch.setBigUint64(x + 4, BigInt(e.data.length), true);
      ch.setBigUint64(x + 12, BigInt(comp.length), true);
      ch.setBigUint64(x + 20, BigInt(offset), true);
    }
    central.push(new Uint8Array(ch.buffer));
  }
  const cdOffset = pos;
  for (const c of central) emit(c);
  const cdSize = pos - cdOffset;
  if (z64) {
    const recPos = pos;
    const rec = new DataView(new ArrayBuffer(56));
    rec.setUint32(0, 0x06064b50, true);
    rec.setBigUint64(4, 44n, true);
    rec.setUint16(12, 45, true);
    rec.setUint16(14, 45, true);
    rec.setBigUint64(24, BigInt(entries.length), true);
    rec.setBigUint64(32, BigInt(entries.length), true);
    rec.setBigUint64(40, BigInt(cdSize), true);
    rec.setBigUint64(48, BigInt(cdOffset), true);
    emit(new Uint8Array(rec.buffer));
    const loc = new DataView(new ArrayBuffer(20));
    loc.setUint32(0, 0x07064b50, true);
    loc.setBigUint64(8, BigInt(recPos), true);
    loc.setUint32(16, 1, true);
    emit(new Uint8Array(loc.buffer));
  }
  const eocd = new DataView(new ArrayBuffer(22));
  eocd.setUint32(0, 0x06054b50, true);
  eocd.setUint16(8, z64 ? 0xffff : entries.length, true);
  eocd.setUint16(10, z64 ? 0xffff : entries.length, true);
  eocd.setUint32(12, z64 ? 0xffffffff : cdSize, true);
  eocd.setUint32(16, z64 ? 0xffffffff : cdOffset, true);
  emit(new Uint8Array(eocd.buffer));
  const out = new Uint8Array(pos - base);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

