// The ZIP reader against archives written here (stored, deflated, ZIP64 — including a sparse virtual
// archive past 4 GiB) and against truncated, corrupt and hostile ones, which must throw, never hang.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { ZipArchive, bytesSource, fileSource, inflateWithStream, type ByteSource } from '../../src/io/zip.js';
import { fuzz } from '../helpers/fuzz.js';
import { type WriteEntry, writeZip } from '../helpers/zip.js';

/** An archive of `base + region.length` bytes that are zero except `region` at `base`: a 5 GB file without the disk. */
function sparseSource(base: number, region: Uint8Array): ByteSource & { maxRead: number } {
  const s = {
    size: base + region.length,
    maxRead: 0,
    read(offset: number, length: number): Promise<Uint8Array> {
      if (offset < 0 || offset + length > s.size) return Promise.reject(new Error('out of range'));
      s.maxRead = Math.max(s.maxRead, length);
      const out = new Uint8Array(length);
      const from = Math.max(offset, base);
      const to = Math.min(offset + length, base + region.length);
      if (to > from) out.set(region.subarray(from - base, to - base), from - offset);
      return Promise.resolve(out);
    },
    close: () => Promise.resolve(),
  };
  return s;
}

const enc = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const open = (b: Uint8Array): Promise<ZipArchive> => ZipArchive.open(bytesSource(b));

async function readAll(b: Uint8Array): Promise<Map<string, string>> {
  const z = await open(b);
  const out = new Map<string, string>();
  for (const e of z.entries) out.set(e.name, text(await z.read(e)));
  return out;
}

const sample: WriteEntry[] = [
  { name: 'a/data.pkl', data: enc.encode('hello pickle') },
  { name: 'a/data/0', data: enc.encode('x'.repeat(1000)), method: 8 },
  { name: 'a/empty', data: new Uint8Array(0) },
];

describe('zip: reading', () => {
  it('reads stored and deflated entries, in order', async () => {
    const m = await readAll(writeZip(sample));
    expect([...m.keys()]).toEqual(['a/data.pkl', 'a/data/0', 'a/empty']);
    expect(m.get('a/data.pkl')).toBe('hello pickle');
    expect(m.get('a/data/0')).toBe('x'.repeat(1000));
    expect(m.get('a/empty')).toBe('');
  });

  it('reads ranges of a stored entry without reading the rest', async () => {
    const z = await open(writeZip([{ name: 'big', data: enc.encode('0123456789') }]));
    expect(text(await z.readStoredRange(z.get('big')!, 3, 4))).toBe('3456');
    await expect(z.readStoredRange(z.get('big')!, 8, 4)).rejects.toThrow(/outside/);
  });

  it('inflates with DecompressionStream (the browser path) as zlib does', async () => {
    const data = enc.encode('abc'.repeat(500));
    const comp = new Uint8Array(deflateRawSync(data));
    expect(text(await inflateWithStream(comp, data.length, 'x'))).toBe(text(data));
    await expect(inflateWithStream(comp, 10, 'x')).rejects.toThrow(/inflates to more than the 10 bytes declared/);
  });

  it('reads a file on disk by ranges through a file handle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-zip-'));
    try {
      const path = join(dir, 'a.zip');
      writeFileSync(path, writeZip(sample, { zip64: true }));
      const z = await ZipArchive.open(await fileSource(path));
      expect(text(await z.read(z.get('a/data/0')!))).toBe('x'.repeat(1000));
      await z.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('zip: ZIP64', () => {
  it('reads sizes and offsets from the ZIP64 extra fields and end-of-central-directory record', async () => {
    const b = writeZip(sample, { zip64: true });
    const z = await open(b);
    expect(z.entries.map((e) => [e.name, e.size])).toEqual([
      ['a/data.pkl', 12],
      ['a/data/0', 1000],
      ['a/empty', 0],
    ]);
    expect((await readAll(b)).get('a/data/0')).toBe('x'.repeat(1000));
  });

  it('reads entries that sit past 4 GiB of a 5 GB archive, reading only small ranges', async () => {
    const base = 5 * 2 ** 30;
    const payload = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    const region = writeZip([{ name: 'w/data/0', data: payload }, ...sample], { zip64: true, base });
    const src = sparseSource(base, region);
    const z = await ZipArchive.open(src);
    const e = z.get('w/data/0')!;
    expect(e.localHeaderOffset).toBe(base);
    expect(await z.read(e)).toEqual(payload);
    expect(await z.readStoredRange(e, 100, 8)).toEqual(payload.subarray(100, 108));
    expect(text(await z.read(z.get('a/data/0')!))).toBe('x'.repeat(1000));
    expect(src.maxRead).toBeLessThan(1 << 17);
  });

  it('refuses a ZIP64 record whose offset is past the end, and saturated fields without ZIP64', async () => {
    const b = writeZip(sample, { zip64: true });
    const loc = b.length - 22 - 20;
    const bad = b.slice();
    new DataView(bad.buffer).setBigUint64(loc + 8, 2n ** 40n, true);
    await expect(open(bad)).rejects.toThrow(/ZIP64 end-of-central-directory offset 1099511627776 is past the end/);
    const noLoc = b.slice();
    noLoc[loc] = 0; // break the locator's signature
    await expect(open(noLoc)).rejects.toThrow(/needs ZIP64 records but has no ZIP64 locator/);
    const huge = b.slice();
    new DataView(huge.buffer).setBigUint64(loc + 8, 2n ** 62n, true);
    await expect(open(huge)).rejects.toThrow(/out of range/);
  });

  it('loads a torch.save checkpoint rewritten as a ZIP64 archive', async () => {
    const src = readFileSync(join(import.meta.dirname, '../fixtures/io/views.pth'));
    const z = await open(src);
    const entries: WriteEntry[] = [];
    for (const e of z.entries) entries.push({ name: e.name, data: await z.read(e), method: e.name.endsWith('.pkl') ? 8 : 0 });
    const sd = await kiln.io.loadPth(writeZip(entries, { zip64: true }));
    expect([...sd.keys()]).toEqual(['base', 't', 'row', 'cols', 'expand', 'slice']);
    expect(Array.from(await sd.get('row')!.data())).toEqual([12, 13, 14, 15, 16, 17]);
    for (const t of sd.values()) t.dispose();
  });
});

describe('zip: malformed and hostile archives', () => {
  const good = writeZip(sample);
  const cdOffset = new DataView(good.buffer).getUint32(good.length - 6, true);

  it('refuses every truncation of an archive with an Error', async () => {
    for (let n = 0; n < good.length; n++) {
      const r = await readAll(good.subarray(0, n)).then(
        () => 'ok',
        (e: unknown) => (e instanceof Error ? e.message : 'not an Error'),
      );
      expect(r, `truncated to ${n} bytes`).toMatch(/^zip: /);
    }
  });

  it('says what is wrong', async () => {
    await expect(open(enc.encode('not a zip at all, just some text that is long enough'))).rejects.toThrow('zip: not a ZIP archive (no end-of-central-directory record)');
    await expect(open(good.subarray(0, good.length - 30))).rejects.toThrow('zip: no end-of-central-directory record; the archive is truncated');
    const past = good.slice();
    new DataView(past.buffer).setUint32(past.length - 6, 0x7fffff00, true);
    await expect(open(past)).rejects.toThrow(/zip: central directory \[2147483392, .*\) runs past its end/);
  });

  it('refuses sizes and offsets out of range', async () => {
    const b = good.slice();
    const dv = new DataView(b.buffer);
    dv.setUint32(cdOffset + 20, 0xfffffff0, true); // compressed size of the first entry
    await expect(open(b)).rejects.toThrow(/entry "a\/data.pkl" \(4294967280 bytes at 0\) runs past the start of the central directory/);
    const c = good.slice();
    new DataView(c.buffer).setUint32(cdOffset + 42, cdOffset - 5, true); // local header offset
    await expect(open(c)).rejects.toThrow(/runs past the start of the central directory/);
  });

  it('refuses a deflated entry that declares more than deflate can produce, or inflates to another size', async () => {
    const b = good.slice();
    const dv = new DataView(b.buffer);
    const second = cdOffset + 46 + 'a/data.pkl'.length;
    dv.setUint32(second + 24, 0xfffffff0, true);
    const z = await open(b);
    await expect(z.read(z.get('a/data/0')!)).rejects.toThrow(/declares 4294967280 bytes from \d+ compressed bytes, more than deflate can produce/);
    dv.setUint32(second + 24, 999, true);
    dv.setUint32(dv.getUint32(second + 42, true) + 22, 999, true); // the local header repeats the size
    const z2 = await open(b);
    await expect(z2.read(z2.get('a/data/0')!)).rejects.toThrow(/inflates to 1000\+ bytes, not the 999 declared/);
    await expect(z2.read(z2.get('a/data/0')!, { maxSize: 10 })).rejects.toThrow(/over the 10-byte limit/);
  });

  it('refuses entry names that escape, duplicates, encryption and unknown methods', async () => {
    for (const [name, why] of [
      ['../evil', "'..' segment"],
      ['a/../../evil', "'..' segment"],
      ['/etc/passwd', 'absolute path'],
      ['C:/x', 'drive letter'],
      ['a\\b', 'backslash'],
    ]) {
      await expect(open(writeZip([{ name: name!, data: new Uint8Array(1) }]))).rejects.toThrow(`zip: entry name ${JSON.stringify(name)} is refused (${why})`);
    }
    await expect(open(writeZip([sample[0]!, sample[0]!]))).rejects.toThrow('appears twice');
    const enc1 = good.slice();
    enc1[cdOffset + 8] = enc1[cdOffset + 8]! | 1;
    await expect(open(enc1)).rejects.toThrow('zip: entry "a/data.pkl" is encrypted');
    const m = good.slice();
    m[cdOffset + 10] = 12; // bzip2
    const z = await open(m);
    await expect(z.read(z.get('a/data.pkl')!)).rejects.toThrow('uses compression method 12; only stored (0) and deflate (8) are supported');
  });

  it('detects corrupt data by its CRC-32, and a missing local header', async () => {
    const b = good.slice();
    const first = 30 + 'a/data.pkl'.length; // first byte of the first entry's data
    b[first] = b[first]! ^ 0xff;
    const z = await open(b);
    await expect(z.read(z.get('a/data.pkl')!)).rejects.toThrow(/CRC-32 mismatch in "a\/data.pkl"/);
    expect((await z.read(z.get('a/data.pkl')!, { checkCrc: false }))[0]).toBe('h'.charCodeAt(0) ^ 0xff);
    const c = good.slice();
    c[0] = 0;
    const z2 = await open(c);
    await expect(z2.read(z2.get('a/data.pkl')!)).rejects.toThrow('zip: no local header for "a/data.pkl" at offset 0');
  });

  it('survives random corruption: every outcome is a result or an Error', async () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let trial = 0; trial < 300; trial++) {
      const b = good.slice();
      for (let k = 0; k < 1 + rnd(4); k++) b[rnd(b.length)] = rnd(256);
      await readAll(b).catch((e: unknown) => expect(e).toBeInstanceOf(Error));
    }
  });

  it('fuzz: truncations, bit flips and structural edits are read or refused naming the reader', async () => {
    const { cases, refused } = await fuzz(good, (b) => readAll(b), { seed: 2110, budgetMs: 1500, maxCases: 1500, prefix: /^zip: / });
    expect(cases).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(cases / 3);
  });
});
