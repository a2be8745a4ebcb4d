// kiln.io.loadPth / iteratePth / listPth against checkpoints torch.save wrote (tests/fixtures/gen_io.py):
// exact bits and integers, key order, views, nested checkpoints, streaming; and malformed or hostile
// files built here by patching a good one, each refused with its own message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { ZipArchive, bytesSource, crc32 } from '../../src/io/zip.js';
import { fuzz } from '../helpers/fuzz.js';
import { writeZip } from '../helpers/zip.js';

interface Expect {
  readonly dtype: string;
  readonly shape: number[];
  readonly f32bits?: number[];
  readonly f16bits?: number[];
  readonly values?: number[];
}
interface FileExpect {
  readonly keys: string[];
  readonly tensors: Record<string, Expect>;
}

const DIR = join(import.meta.dirname, '../fixtures/io');
const fixture = (f: string): string => join(DIR, f);
const bytesOf = (f: string): Uint8Array => new Uint8Array(readFileSync(fixture(f)));
const expected = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Record<string, FileExpect>;
const hasF16 = (): boolean => kiln.deviceInfo().features.includes('shader-f16');

async function check(name: string, t: kiln.Tensor, e: Expect, want?: 'f16' | 'f32'): Promise<void> {
  expect(t.shape, name).toEqual(e.shape);
  if (e.f32bits) {
    const dtype = want ?? (e.dtype === 'float16' && hasF16() ? 'f16' : 'f32');
    expect(t.dtype, name).toBe(dtype);
    if (dtype === 'f16') expect(Array.from(await t.rawData()), name).toEqual(e.f16bits);
    else {
      const d = (await t.data()) as Float32Array;
      expect(Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length)), name).toEqual(e.f32bits);
    }
  } else {
    expect(t.dtype, name).toBe(e.dtype === 'bool' ? 'bool' : 'i32');
    expect(Array.from(await t.data()), name).toEqual(e.values);
  }
}

async function checkFile(file: string, sd: Map<string, kiln.Tensor>, want?: 'f16' | 'f32'): Promise<void> {
  const e = expected[file]!;
  expect([...sd.keys()]).toEqual(e.keys);
  for (const [k, t] of sd) await check(`${file}:${k}`, t, e.tensors[k]!, want);
}

const disposeAll = (sd: Map<string, kiln.Tensor>): void => sd.forEach((t) => t.dispose());

/** Loads, compares and frees; returns the error message when loading throws. */
async function loadError(src: Uint8Array | string, opts: kiln.io.LoadPthOptions = {}): Promise<string> {
  try {
    disposeAll(await kiln.io.loadPth(src, opts));
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  }
  return 'loaded';
}

// ---- hand-built data.pkl and patched archives --------------------------------------------------------------

interface FakeTensor {
  readonly name: string;
  readonly key: string;
  readonly numel: number;
  readonly shape: number[];
  readonly stride: number[];
  readonly offset?: number;
  readonly storageType?: string;
}

function pkl(build: (p: number[]) => void): Uint8Array {
  const p = [0x80, 2];
  build(p);
  p.push(0x2e);
  return new Uint8Array(p);
}
const text = (p: number[], s: string): void => {
  const e = new TextEncoder().encode(s);
  p.push(0x58, e.length & 0xff, (e.length >> 8) & 0xff, 0, 0, ...e);
};
const int = (p: number[], n: number): void => {
  p.push(0x4a, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
};
const global = (p: number[], m: string, n: string): void => {
  p.push(0x63, ...new TextEncoder().encode(`${m}\n${n}\n`));
};

/** An OrderedDict of _rebuild_tensor_v2 calls, as torch.save writes one; a numeric name is written as an int key. */
function statePickle(ts: readonly (FakeTensor | (Omit<FakeTensor, 'name'> & { name: number }))[]): Uint8Array {
  return pkl((p) => {
    global(p, 'collections', 'OrderedDict');
    p.push(0x29, 0x52, 0x28);
    for (const t of ts) {
      if (typeof t.name === 'number') int(p, t.name);
      else text(p, t.name);
      global(p, 'torch._utils', '_rebuild_tensor_v2');
      p.push(0x28, 0x28);
      text(p, 'storage');
      global(p, 'torch', t.storageType ?? 'FloatStorage');
      text(p, t.key);
      text(p, 'cpu');
      int(p, t.numel);
      p.push(0x74, 0x51);
      int(p, t.offset ?? 0);
      p.push(0x28);
      t.shape.forEach((s) => int(p, s));
      p.push(0x74, 0x28);
      t.stride.forEach((s) => int(p, s));
      p.push(0x74, 0x89, 0x7d, 0x74, 0x52);
    }
    p.push(0x75);
  });
}

function centralEntry(file: Uint8Array, name: string): number {
  const want = new TextEncoder().encode(name);
  const dv = new DataView(file.buffer, file.byteOffset);
  for (let i = file.length - 46; i >= 0; i--) {
    if (dv.getUint32(i, true) === 0x02014b50 && dv.getUint16(i + 28, true) === want.length && want.every((b, j) => file[i + 46 + j] === b)) return i;
  }
  throw new Error(`no central entry ${name}`);
}

/** `file` with its data.pkl replaced by `pickle` (no longer than the original), CRC and sizes updated. */
async function withDataPkl(file: Uint8Array, pickle: Uint8Array): Promise<Uint8Array> {
  const z = await ZipArchive.open(bytesSource(file));
  const e = z.entries.find((x) => x.name.endsWith('/data.pkl'))!;
  expect(pickle.length).toBeLessThanOrEqual(e.size);
  const out = file.slice();
  out.set(pickle, await z.dataOffset(e));
  const c = centralEntry(out, e.name);
  const dv = new DataView(out.buffer);
  dv.setUint32(c + 16, crc32(pickle), true);
  dv.setUint32(c + 20, pickle.length, true);
  dv.setUint32(c + 24, pickle.length, true);
  return out;
}

// ---- tests -------------------------------------------------------------------------------------------------

describe('loadPth: values', () => {
  for (const file of ['basic.pth', 'views.pth', 'module.pth', 'proto4.pth', 'params.pth']) {
    it(`${file}: keys in order, exact bits and integers`, async () => {
      const sd = await kiln.io.loadPth(fixture(file));
      await checkFile(file, sd);
      disposeAll(sd);
    });
  }

  it('reads from bytes, an ArrayBuffer and a Blob as from a path', async () => {
    const b = bytesOf('basic.pth');
    for (const src of [b, b.slice().buffer, new Blob([new Uint8Array(b)])]) {
      const sd = await kiln.io.loadPth(src);
      await checkFile('basic.pth', sd);
      disposeAll(sd);
    }
  });

  it("converts floats with { dtype: 'f32' } and { dtype: 'f16' } (torch's .half() bits)", async () => {
    const sd = await kiln.io.loadPth(fixture('basic.pth'), { dtype: 'f32' });
    await checkFile('basic.pth', sd, 'f32');
    disposeAll(sd);
    if (!hasF16()) return;
    const h = await kiln.io.loadPth(fixture('module.pth'), { dtype: 'f16' });
    await checkFile('module.pth', h, 'f16');
    disposeAll(h);
    const b = await kiln.io.loadPth(fixture('basic.pth'), { dtype: 'f16' });
    for (const k of ['f32', 'f16', 'bf16', 'f64']) await check(k, b.get(k)!, expected['basic.pth']!.tensors[k]!, 'f16');
    disposeAll(b);
  });

  it('lists tensors without reading them: views share a storage, strides as saved', async () => {
    const l = await kiln.io.listPth(fixture('views.pth'));
    const by = new Map(l.map((t) => [t.name, t]));
    expect(by.get('t')).toMatchObject({ dtype: 'float32', shape: [6, 4], stride: [1, 6], offset: 0 });
    expect(by.get('row')).toMatchObject({ shape: [6], stride: [1], offset: 12 });
    expect(by.get('cols')).toMatchObject({ shape: [3, 3], stride: [6, 2], offset: 7 });
    expect(by.get('expand')).toMatchObject({ shape: [3, 6], stride: [0, 1], offset: 6 });
    expect(by.get('slice')).toMatchObject({ dtype: 'int64', offset: 10 });
    expect(new Set(['base', 't', 'row', 'cols', 'expand'].map((k) => by.get(k)!.storage)).size).toBe(1);
  });
});

describe('loadPth: checkpoints and streaming', () => {
  it("finds a nested state dict ('state_dict', 'model') or takes { key }", async () => {
    for (const f of ['nested.pth', 'model_key.pth']) {
      const sd = await kiln.io.loadPth(fixture(f));
      await checkFile(f, sd);
      disposeAll(sd);
    }
    const k = await kiln.io.loadPth(fixture('nested.pth'), { key: 'state_dict' });
    await checkFile('nested.pth', k);
    disposeAll(k);
    const p = await kiln.io.loadPth(fixture('model_key.pth'), { key: ['model'] });
    expect([...p.keys()]).toEqual(['w', 'b']);
    disposeAll(p);
    expect(await loadError(fixture('nested.pth'), { key: 'nope' })).toBe(
      'loadPth: key "nope" not found at the top level; keys there: "epoch", "state_dict", "optimizer", "done", "note"',
    );
    expect(await loadError(fixture('nested.pth'), { key: ['optimizer', 'lr'] })).toBe('loadPth: ["optimizer","lr"] holds a float, not a state dict');
    expect(await loadError(fixture('nested.pth'), { key: ['epoch', 'x'] })).toBe('loadPth: key "x" not found at ["epoch"]; keys there: (a int)');
    const noTensors = await withDataPkl(bytesOf('basic.pth'), pkl((p) => p.push(0x7d, 0x58, 1, 0, 0, 0, 0x61, 0x4b, 1, 0x73)));
    expect(await loadError(noTensors)).toBe('loadPth: no state dict found (no dict of tensors); top-level keys: "a". Pass { key } to pick one');
  });

  it('yields tensors one at a time, in order, and can stop early', async () => {
    const e = expected['module.pth']!;
    const before = kiln.memory().liveTensors;
    const names: string[] = [];
    for await (const [name, t] of kiln.io.iteratePth(fixture('module.pth'))) {
      expect(kiln.memory().liveTensors).toBe(before + 1); // only the tensor just yielded exists
      await check(name, t, e.tensors[name]!);
      names.push(name);
      t.dispose();
    }
    expect(names).toEqual(e.keys);
    for await (const [, t] of kiln.io.iteratePth(fixture('module.pth'))) {
      t.dispose();
      break;
    }
    expect(kiln.memory().liveTensors).toBe(before);
  });
});

describe('loadPth: refused', () => {
  it('refuses i64 values outside i32, naming the tensor and the value', async () => {
    expect(await loadError(fixture('i64_big.pth'))).toBe(
      "loadPth: tensor 'big' (int64) holds 1099511627776 at flat index 1, outside the i32 range Kiln stores integers in",
    );
  });

  it('refuses the legacy format and bare pickles with the conversion route', async () => {
    const msg = await loadError(fixture('legacy.pth'));
    expect(msg).toContain('loadPth: this is a legacy (pre-1.6, non-zip) torch.save file');
    expect(msg).toContain('_use_new_zipfile_serialization=True');
    expect(msg).toContain('safetensors');
    expect(await loadError(pkl((p) => p.push(0x7d)))).toContain('loadPth: this is a bare pickle stream, not a torch.save zip archive');
    expect(await loadError(new TextEncoder().encode('hello, this is plain text and not a checkpoint'))).toBe(
      'loadPth: zip: not a ZIP archive (no end-of-central-directory record)',
    );
  });

  it('refuses a pickle that names os.system, and never runs it', async () => {
    const evil = pkl((p) => {
      global(p, 'os', 'system');
      text(p, 'touch /tmp/kiln-pwned');
      p.push(0x85, 0x52);
    });
    expect(await loadError(await withDataPkl(bytesOf('basic.pth'), evil))).toBe("loadPth: pickle: global 'os.system' is not allowed in a state dict (at byte 2)");
  });

  it('refuses a tensor that reads past its storage, a missing or short storage record, an oversized expand', async () => {
    const base = bytesOf('basic.pth');
    const t = { name: 'x', key: '0', numel: 12, shape: [4, 4], stride: [4, 1] };
    expect(await loadError(await withDataPkl(base, statePickle([t])))).toBe(
      "loadPth: tensor 'x': shape [4, 4], stride [4, 1] at offset 0 reads float32 elements up to 16, but storage '0' holds 12",
    );
    expect(await loadError(await withDataPkl(base, statePickle([{ ...t, shape: [3, 4], offset: 1 }])))).toMatch(/reads float32 elements up to 13, but storage '0' holds 12/);
    expect(await loadError(await withDataPkl(base, statePickle([{ ...t, key: '99' }])))).toBe(
      "loadPth: tensor 'x': its storage '99' has no record basic/data/99 in the archive",
    );
    expect(await loadError(await withDataPkl(base, statePickle([{ ...t, numel: 1000, shape: [2], stride: [1] }])))).toBe(
      "loadPth: tensor 'x': storage '0' declares 4000 bytes but its record holds 48",
    );
    expect(await loadError(await withDataPkl(base, statePickle([{ ...t, shape: [100000, 100000], stride: [0, 0] }])))).toMatch(
      /^loadPth: tensor 'x': 10000000000 elements \(shape \[100000, 100000\]\) exceed what one GPU buffer holds/,
    );
    const wide = { ...t, shape: [10000, 10000], stride: [0, 0] };
    expect(await loadError(await withDataPkl(base, statePickle([wide, { ...wide, name: 'y' }])))).toBe(
      `loadPth: the tensors would expand the ${base.length}-byte archive to 800000000 bytes (stride-0 views?), over the ${base.length * 64 + 2 ** 26}-byte limit`,
    );
    expect(await loadError(await withDataPkl(base, statePickle([{ ...t, storageType: 'ComplexFloatStorage', numel: 6, shape: [6], stride: [1] }])))).toBe(
      "loadPth: tensor 'x': dtype complex64 is not supported (Kiln has no complex tensors)",
    );
  });

  it('refuses corrupt storage bytes by CRC, and loads them with { checkCrc: false }', async () => {
    const b = bytesOf('basic.pth');
    const z = await ZipArchive.open(bytesSource(b));
    const e = z.get('basic/data/0')!;
    const at = (await z.dataOffset(e)) + 1;
    b[at] = b[at]! ^ 0x40;
    expect(await loadError(b)).toMatch(/^loadPth: zip: CRC-32 mismatch in "basic\/data\/0"/);
    expect(await loadError(b, { checkCrc: false })).toBe('loaded');
  });

  it('refuses every truncation of a checkpoint', async () => {
    const b = bytesOf('views.pth');
    for (let n = 0; n < b.length; n += 7) {
      const msg = await kiln.io.listPth(b.subarray(0, n)).then(
        () => 'listed',
        (e: unknown) => (e instanceof Error ? e.message : 'not an Error'),
      );
      expect(msg, `truncated to ${n} bytes`).toMatch(/^loadPth: /);
    }
  });

  it('survives random corruption of the archive and the pickle: a result or an Error, never a hang', async () => {
    const good = bytesOf('module.pth');
    const z = await ZipArchive.open(bytesSource(good));
    const pk = z.entries.find((e) => e.name.endsWith('/data.pkl'))!;
    const pkStart = await z.dataOffset(pk);
    let seed = 99;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    let refused = 0;
    for (let trial = 0; trial < 150; trial++) {
      const b = good.slice();
      const inPickle = trial % 2 === 0;
      for (let k = 0; k < 1 + rnd(3); k++) b[inPickle ? pkStart + rnd(pk.size) : rnd(b.length)] = rnd(256);
      // Corrupt pickles get a fresh CRC, so the unpickler itself sees them.
      const src = inPickle ? await withDataPkl(b, b.slice(pkStart, pkStart + pk.size)) : b;
      const r = await kiln.io.listPth(src, {}).then(
        () => 'ok',
        (e: unknown) => (e instanceof Error ? 'refused' : 'not an Error'),
      );
      expect(r).not.toBe('not an Error');
      if (r === 'refused') refused++;
    }
    expect(refused).toBeGreaterThan(30);
  });
});

describe('loadPth: hostile archives', () => {
  const f32 = (v: number[]): Uint8Array => new Uint8Array(new Float32Array(v).buffer);
  const one = { key: '0', numel: 1, shape: [1], stride: [1] };

  it("keeps the keys 1 and '1' both, as torch.load does, and leaks nothing", async () => {
    const pk = statePickle([
      { ...one, name: 1 },
      { ...one, key: '1', name: '1' },
    ]);
    const zip = writeZip([
      { name: 'k/data.pkl', data: pk },
      { name: 'k/data/0', data: f32([10]) },
      { name: 'k/data/1', data: f32([20]) },
    ]);
    const before = kiln.memory().liveTensors;
    const sd = await kiln.io.loadPth(zip);
    expect([...sd.keys()]).toEqual(['int:1', '1']);
    expect(Array.from(await sd.get('int:1')!.data())).toEqual([10]);
    expect(Array.from(await sd.get('1')!.data())).toEqual([20]);
    disposeAll(sd);
    expect(kiln.memory().liveTensors).toBe(before);
    expect((await kiln.io.listPth(zip)).map((i) => [i.name, i.key])).toEqual([
      ['int:1', 1],
      ['1', '1'],
    ]);
    // Without a str key spelled '1', the int key is named plainly.
    const alone = writeZip([
      { name: 'k/data.pkl', data: statePickle([{ ...one, name: 7 }]) },
      { name: 'k/data/0', data: f32([3]) },
    ]);
    expect((await kiln.io.listPth(alone)).map((i) => [i.name, i.key])).toEqual([['7', 7]]);
  });

  it('refuses a compressed record that would inflate past what its storage needs, before inflating it', async () => {
    // 8 MiB of zeros deflate to ~8 KB; the storage holds one float.
    const zip = writeZip([
      { name: 'k/data.pkl', data: statePickle([{ ...one, name: 'x' }]) },
      { name: 'k/data/0', data: new Uint8Array(8 << 20), method: 8 },
    ]);
    expect(zip.length).toBeLessThan(64 << 10);
    expect(await loadError(zip)).toBe(
      "loadPth: tensor 'x': compressed record k/data/0 declares 8388608 bytes but storage '0' needs only 4; refusing to inflate more than a storage needs",
    );
    // The same record at the storage's size loads.
    const ok = writeZip([
      { name: 'k/data.pkl', data: statePickle([{ ...one, name: 'x' }]) },
      { name: 'k/data/0', data: f32([5]), method: 8 },
    ]);
    const sd = await kiln.io.loadPth(ok);
    expect(Array.from(await sd.get('x')!.data())).toEqual([5]);
    disposeAll(sd);
  });

  it('refuses two directory entries aliasing one record, and a local header naming another entry', async () => {
    const base = writeZip([
      { name: 'k/data.pkl', data: statePickle([{ ...one, name: 'x' }, { ...one, key: '1', name: 'y' }]) },
      { name: 'k/data/0', data: f32([1]) },
      { name: 'k/data/1', data: f32([2]) },
    ]);
    const dv = new DataView(base.buffer);
    const c0 = centralEntry(base, 'k/data/0');
    const c1 = centralEntry(base, 'k/data/1');
    // Point data/1's directory entry at data/0's local header: both names would read the same bytes.
    const aliased = base.slice();
    new DataView(aliased.buffer).setUint32(c1 + 42, dv.getUint32(c0 + 42, true), true);
    expect(await loadError(aliased)).toMatch(/^loadPth: zip: entries "k\/data\/0" and "k\/data\/1" overlap/);
    // A local header whose name differs from the directory's (same length, so only the name check sees it).
    const renamed = base.slice();
    const lh = dv.getUint32(c1 + 42, true);
    renamed[lh + 30 + 'k/data/'.length] = '9'.charCodeAt(0);
    expect(await loadError(renamed)).toBe(
      `loadPth: zip: the local header of "k/data/1" at offset ${lh} names "k/data/9", not the central directory's name (aliased or corrupt entry)`,
    );
    // A local header that disagrees on the method.
    const method = base.slice();
    method[lh + 8] = 8;
    expect(await loadError(method)).toBe(`loadPth: zip: the local header of "k/data/1" at offset ${lh} declares compression method 8, the central directory 0`);
  });

  it('fuzz: truncations, bit flips and structural edits of a checkpoint are loaded or refused, leaving no tensor live', async () => {
    const good = bytesOf('views.pth');
    const { cases, refused } = await fuzz(good, (b) => kiln.io.loadPth(b), { seed: 2101, budgetMs: 3000, maxCases: 400, prefix: /^loadPth: / });
    expect(cases).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(cases / 4);
  });
});
