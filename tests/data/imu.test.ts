// IMU input: .npy (v1/v2 headers, '<f4'/'<f8', either orientation) and CSV (either orientation, header row)
// against NumPy's own file (tests/fixtures/gen_image.py), and clear errors for everything unsupported.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { fuzz } from '../helpers/fuzz.js';

const dir = new URL('../fixtures/image/', import.meta.url);
const npyBytes = new Uint8Array(readFileSync(new URL('imu.npy', dir)));
const csvText = readFileSync(new URL('imu.csv', dir), 'utf8');
// The reference: the float32 payload of NumPy's file (v1 header, 128 bytes in all).
const ref = new Float32Array(npyBytes.slice(128).buffer);

/** A .npy file with the given header fields and payload (header padded to 64 bytes, as NumPy writes it). */
function npy(descr: string, shape: readonly number[], payload: ArrayBufferView, opts: { version?: 1 | 2; fortran?: boolean } = {}): Uint8Array {
  const version = opts.version ?? 1;
  const pre = version === 1 ? 10 : 12;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran === true ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((pre + header.length) % 64)) + '\n';
  const out = new Uint8Array(pre + header.length + payload.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), pre + header.length);
  return out;
}

function transpose(a: Float32Array): Float32Array {
  const t = new Float32Array(a.length);
  for (let c = 0; c < 6; c++) for (let i = 0; i < 2000; i++) t[i * 6 + c] = a[c * 2000 + i]!;
  return t;
}

/** Element-wise === (so −0 equals 0: JS's toFixed prints −0 as "0.000"). */
function same(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function values(t: kiln.Tensor): Promise<Float32Array> {
  expect(t.shape).toEqual([6, 2000]);
  const v = Float32Array.from(await t.data());
  t.dispose();
  return v;
}

describe('loadImu', () => {
  it('reads NumPy\'s .npy exactly, and v2 headers, float64 and (2000, 6) arrays', async () => {
    expect(await values(kiln.data.loadImu(npyBytes, { format: 'npy' }))).toEqual(ref);
    expect(await values(kiln.data.loadImu(npyBytes.buffer.slice(npyBytes.byteOffset, npyBytes.byteOffset + npyBytes.byteLength)))).toEqual(ref);
    expect(await values(kiln.data.loadImu(npy('<f8', [6, 2000], Float64Array.from(ref), { version: 2 })))).toEqual(ref);
    expect(await values(kiln.data.loadImu(npy('<f4', [2000, 6], transpose(ref))))).toEqual(ref);
  });

  it('reads a 2000 × 6 CSV with a header row, and a 6 × 2000 one, exactly', async () => {
    expect(await values(kiln.data.loadImu(csvText, { format: 'csv' }))).toEqual(ref);
    expect(await values(kiln.data.loadImu(new TextEncoder().encode(csvText)))).toEqual(ref);
    const rows = Array.from({ length: 6 }, (_, c) => Array.from(ref.subarray(c * 2000, (c + 1) * 2000), (v) => v.toFixed(3)).join(' '));
    expect(same(await values(kiln.data.loadImu(rows.join('\n'))), ref)).toBe(true);
  });

  it('throws clear errors for unsupported .npy files and bad CSV', () => {
    const f4 = new Float32Array(12000);
    expect(() => kiln.data.loadImu(npy('>f4', [6, 2000], f4), { name: 'be.npy' })).toThrow(/'be.npy': dtype '>f4' is not supported/);
    expect(() => kiln.data.loadImu(npy('<i2', [6, 2000], new Int16Array(12000)))).toThrow(/dtype '<i2' is not supported/);
    expect(() => kiln.data.loadImu(npy('<f4', [6, 2000], f4, { fortran: true }))).toThrow(/Fortran-order arrays are not supported/);
    expect(() => kiln.data.loadImu(npy('<f4', [6, 2000], f4).subarray(0, 5000), { name: 'cut.npy' })).toThrow(/'cut.npy' is truncated/);
    expect(() => kiln.data.loadImu(npy('<f4', [3, 4000], f4))).toThrow(/has shape|is 3 × 4000; expected 6 × 2000/);
    expect(() => kiln.data.loadImu(npy('<f4', [12000], f4))).toThrow(/has shape \(12000\)/);
    expect(() => kiln.data.loadImu(new Uint8Array([1, 2, 3]), { format: 'npy', name: 'x' })).toThrow(/'x' is not a .npy file/);
    expect(() => kiln.data.loadImu('1,2,3\n4,5,6\n', { name: 's.csv' })).toThrow(/'s.csv' is 2 × 3; expected 6 × 2000/);
    expect(() => kiln.data.loadImu('a,b\n1,2\n3,x\n', { name: 'bad.csv' })).toThrow(/'bad.csv' row 2, column 2: 'x' is not a number/);
    expect(() => kiln.data.loadImu('1,2\n3\n')).toThrow(/row 2 has 1 values, the first row 2/);
  });
});

describe('readNpy: the header read as numpy reads it', () => {
  interface Case {
    readonly version: 1 | 3;
    readonly header: string;
    readonly ok: boolean;
    readonly shape?: number[];
    readonly descr?: string;
    readonly fortran?: boolean;
    readonly error?: string;
  }
  const { cases } = JSON.parse(readFileSync(new URL('../fixtures/npy/headers.json', import.meta.url), 'utf8')) as { cases: Case[] };

  /** The file gen_npy.py built for a case: magic, version, length, header, then float64 0, 1, 2, … */
  function file(c: Case): Uint8Array {
    const raw = c.version === 1 ? Uint8Array.from(c.header, (ch) => ch.charCodeAt(0)) : new TextEncoder().encode(c.header);
    const pre = c.version === 1 ? 10 : 12;
    const payload = new Uint8Array(Float64Array.from({ length: 64 }, (_, i) => i).buffer);
    const out = new Uint8Array(pre + raw.length + payload.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, c.version, 0]);
    if (c.version === 1) new DataView(out.buffer).setUint16(8, raw.length, true);
    else new DataView(out.buffer).setUint32(8, raw.length, true);
    out.set(raw, pre);
    out.set(payload, pre + raw.length);
    return out;
  }

  it('agrees with np.load on every generated header: same shape and data, or refused where numpy refuses', () => {
    expect(cases.length).toBeGreaterThan(60);
    for (const c of cases) {
      const label = `v${c.version} ${JSON.stringify(c.header)}`;
      const supported = c.ok && (c.descr === '<f4' || c.descr === '<f8') && !c.fortran;
      let got: kiln.data.NpyArray | Error;
      try {
        got = kiln.data.readNpy(file(c), 'h.npy');
      } catch (e) {
        got = e as Error;
      }
      if (!supported) {
        expect(got, label).toBeInstanceOf(Error);
        expect((got as Error).message, label).toMatch(/^readNpy: 'h.npy'/);
        continue;
      }
      expect(got, label).not.toBeInstanceOf(Error);
      const a = got as kiln.data.NpyArray;
      expect(a.shape, label).toEqual(c.shape);
      expect(a.data instanceof Float32Array ? '<f4' : '<f8', label).toBe(c.descr);
      const n = c.shape!.reduce((x, y) => x * y, 1);
      const payload = new Float64Array(Float64Array.from({ length: 64 }, (_, i) => i).buffer);
      const want = c.descr === '<f8' ? payload.subarray(0, n) : new Float32Array(payload.buffer, 0, n);
      expect(Array.from(a.data), label).toEqual(Array.from(want));
    }
  });

  it('names what is wrong: version, keys, shape, header size; never evaluates anything', () => {
    const f = (header: string, version = 1, minor = 0): Uint8Array => {
      const c = file({ version: version === 3 ? 3 : 1, header, ok: false });
      c[6] = version;
      c[7] = minor;
      return c;
    };
    const good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    expect(() => kiln.data.readNpy(f(good, 1, 1), 'a')).toThrow("readNpy: 'a': unsupported .npy format version 1.1 (numpy reads 1.0, 2.0 and 3.0)");
    expect(() => kiln.data.readNpy(f(good, 4), 'a')).toThrow('unsupported .npy format version 4.0');
    expect(() => kiln.data.readNpy(f("{'descr': '<f4', 'shape': (2, 3)}"), 'a')).toThrow("readNpy: 'a': header does not contain the correct keys: ['descr', 'shape']");
    expect(() => kiln.data.readNpy(f("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3)}"), 'a')).toThrow("readNpy: 'a': shape is not valid: (2.0, 3)");
    expect(() => kiln.data.readNpy(f("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}"), 'a')).toThrow('has a negative dimension');
    expect(() => kiln.data.readNpy(f("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': __import__('os')}"), 'a')).toThrow(/name '__import__' is not a literal/);
    expect(() => kiln.data.readNpy(f(`{'x': ${'['.repeat(150)}${']'.repeat(150)}}`), 'a')).toThrow(/nesting deeper than 100 levels/);
    expect(() => kiln.data.readNpy(f(`{'x': '${'y'.repeat(10001)}'}`, 3), 'a')).toThrow("header of 10010 characters is over numpy's limit of 10000");
  });

  it('fuzz: mutated .npy files are read or refused naming the reader', async () => {
    const good = file({ version: 1, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", ok: true });
    const { cases: n, refused } = await fuzz(good, (b) => kiln.data.readNpy(b, 'f.npy'), { seed: 2104, budgetMs: 1500, maxCases: 3000, prefix: /^readNpy: 'f.npy'/ });
    expect(n).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(n / 10); // most of the file is payload, whose bytes any value may hold
  });
});

describe('loadImu: fuzz', () => {
  it('mutated CSV text loads or is refused naming the loader, leaving no tensor live', async () => {
    const good = new TextEncoder().encode(csvText.split('\n').slice(0, 2001).join('\n'));
    const { cases, refused } = await fuzz(good, (b) => kiln.data.loadImu(b, { format: 'csv', name: 'f.csv' }), { seed: 2108, budgetMs: 2000, maxCases: 300, prefix: /^loadImu: 'f.csv'/ });
    expect(cases).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(cases / 4);
  });
});
