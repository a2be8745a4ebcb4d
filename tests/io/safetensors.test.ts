// safetensors: write → read round trip (f32, f16, i32, bool, metadata), BF16/I64/U8 decoding, streaming
// order, and the header validation errors (bad JSON, dtype, offsets, byte lengths, huge headers).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { iterateSafetensors, listSafetensors, loadSafetensors, saveSafetensors } from '../../src/io/safetensors.js';
import { fuzz } from '../helpers/fuzz.js';

/** A safetensors file from a header object and raw data. */
function file(header: unknown, data: Uint8Array, rawHeader?: string): Uint8Array {
  const h = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips f32, f16, i32 and bool tensors with metadata through a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-st-'));
    const path = join(dir, 'm.safetensors');
    const a = kiln.tensor([[1.5, -2], [3, 4.25]]);
    const b = kiln.tensor([0.5, 1, -65504], { dtype: 'f16' });
    const c = kiln.tensor(new Int32Array([7, -8, 2 ** 30]));
    const d = kiln.tensor([true, false, true]);
    await saveSafetensors(path, new Map<string, kiln.Tensor>([['a', a], ['b.half', b], ['c', c], ['d', d]]), { format: 'pt' });
    expect(existsSync(`${path}.tmp-${process.pid}`)).toBe(false);
    const bytes = readFileSync(path);
    expect((8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))) % 8).toBe(0);
    const h = await listSafetensors(path);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors.map((t) => [t.name, t.dtype])).toEqual([['a', 'F32'], ['b.half', 'F16'], ['c', 'I32'], ['d', 'BOOL']]);
    const sd = await loadSafetensors(path);
    expect(sd.get('a')!.shape).toEqual([2, 2]);
    expect([...(await sd.get('a')!.data())]).toEqual([1.5, -2, 3, 4.25]);
    expect(sd.get('b.half')!.dtype).toBe(kiln.deviceInfo().features.includes('shader-f16') ? 'f16' : 'f32');
    expect([...(await sd.get('b.half')!.data())]).toEqual([0.5, 1, -65504]);
    expect([...(await sd.get('c')!.data())]).toEqual([7, -8, 2 ** 30]);
    expect(sd.get('d')!.dtype).toBe('bool');
    const f32 = await loadSafetensors(path, { dtype: 'f32' });
    expect(f32.get('b.half')!.dtype).toBe('f32');
    const names: string[] = [];
    for await (const [n, t] of iterateSafetensors(bytes)) {
      names.push(n);
      t.dispose();
    }
    expect(names).toEqual(['a', 'b.half', 'c', 'd']);
  });

  it('decodes BF16 (to f32), I64 (to i32) and U8 (to i32)', async () => {
    const data = new Uint8Array(4 + 16 + 2);
    new Uint16Array(data.buffer, 0, 2).set([0x3fc0, 0xc000]); // bf16 1.5, -2
    const dv = new DataView(data.buffer);
    dv.setBigInt64(4, -5n, true);
    dv.setBigInt64(12, 123456789n, true);
    data.set([200, 3], 20);
    const sd = await loadSafetensors(file({ x: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] }, y: { dtype: 'I64', shape: [2], data_offsets: [4, 20] }, z: { dtype: 'U8', shape: [2], data_offsets: [20, 22] } }, data));
    expect([...(await sd.get('x')!.data())]).toEqual([1.5, -2]);
    expect([...(await sd.get('y')!.data())]).toEqual([-5, 123456789]);
    expect([...(await sd.get('z')!.data())]).toEqual([200, 3]);
    dv.setBigInt64(4, 2n ** 40n, true);
    await expect(loadSafetensors(file({ y: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data.slice(4, 12)))).rejects.toThrow(/outside the i32 range/);
  });

  it('rejects malformed headers with a message naming the problem', async () => {
    const d8 = new Uint8Array(8);
    const bad = (header: unknown, data = d8, raw?: string): Promise<unknown> => listSafetensors(file(header, data, raw));
    await expect(bad(null, d8, '{not json')).rejects.toThrow(/not valid JSON/);
    await expect(bad([1])).rejects.toThrow(/must be a JSON object/);
    await expect(bad({ x: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } })).rejects.toThrow(/unsupported dtype "F64"/);
    await expect(bad({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } })).rejects.toThrow(/needs 12 bytes but data_offsets span 8/);
    await expect(bad({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } })).rejects.toThrow(/past the end of the data/);
    await expect(bad({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } })).rejects.toThrow(/contiguous/);
    await expect(bad({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } })).rejects.toThrow(/cover 4 bytes of data but the file holds 8/);
    await expect(bad({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } })).rejects.toThrow(/non-negative integers/);
    await expect(bad({ __metadata__: { a: 1 } }, new Uint8Array(0))).rejects.toThrow(/__metadata__\.a must be a string/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    await expect(listSafetensors(huge)).rejects.toThrow(/exceeds the .*-byte limit/);
    const short = new Uint8Array(16);
    new DataView(short.buffer).setBigUint64(0, 100n, true);
    await expect(listSafetensors(short)).rejects.toThrow(/runs past the end of the file/);
    await expect(listSafetensors(new Uint8Array(3))).rejects.toThrow(/too short/);
  });

  it('refuses deep nesting, non-string metadata, duplicate keys and shapes the reference refuses', async () => {
    const d8 = new Uint8Array(8);
    const msg = (raw: string, data = d8): Promise<string> => listSafetensors(file(null, data, raw)).then(() => 'accepted', (e: unknown) => (e as Error).message);
    const deep = (n: number): string => `{"__metadata__":{"a":${'['.repeat(n)}${']'.repeat(n)}},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`;
    expect(await msg(deep(200))).toMatch(/^safetensors: the header is not valid JSON \(header: nesting deeper than 128 levels at character \d+\)$/);
    expect(await msg(deep(1_000_000))).toMatch(/nesting deeper than 128 levels/);
    expect(await msg(deep(3))).toBe('safetensors: __metadata__.a must be a string, got an array');
    const x = (shape: string, off = '[0,8]'): string => `{"x":{"dtype":"F32","shape":${shape},"data_offsets":${off}}}`;
    expect(await msg(x('[2]'))).toBe('accepted');
    expect(await msg(x('[2.0]'))).toBe('safetensors: tensor \'x\': shape must be an array of non-negative integers (no fraction or exponent, at most 2^64 - 1), got [2.0]');
    expect(await msg(x('[2e0]'))).toMatch(/got \[2e0\]$/);
    expect(await msg(x('[-0, 2]'))).toMatch(/got \[-0, 2\]$/);
    expect(await msg(x('[18446744073709551616]'))).toMatch(/got \[18446744073709551616\]$/);
    expect(await msg(x('[2]', '[0.0,8]'))).toMatch(/data_offsets must be \[begin, end\]/);
    // The element count overflows 64 bits before the 0 is reached (the reference folds left to right) …
    expect(await msg(x('[4294967296, 4294967296, 0]', '[0,0]'), new Uint8Array(0))).toBe(
      "safetensors: tensor 'x': shape [4294967296, 4294967296, 0] overflows 64 bits (its element count is at least 18446744073709551616)",
    );
    expect(await msg(x('[4611686018427387904]', '[0,0]'), new Uint8Array(0))).toMatch(/overflows 64 bits in bits/);
    // … but not when the 0 comes first: then the tensor is empty, as the reference reads it.
    const empty = await listSafetensors(file(null, new Uint8Array(0), x('[0, 4294967296, 4294967296]', '[0,0]')));
    expect(empty.tensors[0]!.shape).toEqual([0, 2 ** 32, 2 ** 32]);
    expect(await msg('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}')).toMatch(/key "x" appears twice in one object/);
    expect(await msg('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x')).toMatch(/trailing characters/);
    expect(await msg('{"__metadata__":null,"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}')).toBe('accepted');
  });

  it('refuses non-string metadata at save time, writing nothing, and saves tensors named like Object properties', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-st-'));
    const path = join(dir, 'm.safetensors');
    const a = kiln.tensor([1, 2]);
    const bad = { epoch: 3 } as unknown as Record<string, string>;
    await expect(saveSafetensors(path, { a }, bad)).rejects.toThrow("saveSafetensors: metadata 'epoch' is a number, not a string (safetensors metadata holds strings only)");
    await expect(saveSafetensors(path, { a }, { nested: { x: '1' } } as unknown as Record<string, string>)).rejects.toThrow("metadata 'nested' is an object, not a string");
    expect(readdirSync(dir)).toEqual([]);
    await saveSafetensors(path, new Map([['constructor', a], ['toString', a], ['__proto__', a]]), { ok: 'yes' });
    const sd = await loadSafetensors(path);
    expect([...sd.keys()].sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect([...(await sd.get('__proto__')!.data())]).toEqual([1, 2]);
    sd.forEach((t) => t.dispose());
    a.dispose();
  });

  it('two concurrent saves to one path leave one whole file, and stale temporaries of dead writers are removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-st-'));
    const path = join(dir, 'm.safetensors');
    const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid; // exited: its pid names no process
    const stale = `m.safetensors.tmp-${host}-${dead}-0123456789abcdef`;
    const live = `m.safetensors.tmp-${host}-${process.ppid}-0123456789abcdef`;
    const other = `m.safetensors.tmp-otherhost-${dead}-0123456789abcdef`;
    for (const n of [stale, live, other]) writeFileSync(join(dir, n), 'partial');
    const big = (v: number): kiln.Tensor => kiln.full([64, 1024], v);
    const x = big(1);
    const y = big(2);
    await Promise.all([saveSafetensors(path, { t: x }, { who: 'x' }), saveSafetensors(path, { t: y }, { who: 'y' })]);
    const h = await listSafetensors(path);
    const sd = await loadSafetensors(path);
    const vals = new Set((await sd.get('t')!.data()) as Float32Array);
    expect([...vals]).toEqual([h.metadata['who'] === 'x' ? 1 : 2]);
    expect(readdirSync(dir).sort()).toEqual([live, 'm.safetensors', other].sort());
    for (const t of [x, y, sd.get('t')!]) t.dispose();
  });

  it('leaves no tensor live when a later tensor fails, and survives fuzzing', async () => {
    const data = new Uint8Array(12);
    new DataView(data.buffer).setFloat32(0, 1.5, true);
    new DataView(data.buffer).setBigInt64(4, 2n ** 40n, true);
    const f = file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'I64', shape: [1], data_offsets: [4, 12] } }, data);
    const before = kiln.memory().liveTensors;
    await expect(loadSafetensors(f)).rejects.toThrow(/outside the i32 range/);
    expect(kiln.memory().liveTensors).toBe(before);
    const good = file({ __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'I64', shape: [1], data_offsets: [16, 24] }, c: { dtype: 'F16', shape: [2], data_offsets: [24, 28] } }, new Uint8Array(28));
    const { cases, refused } = await fuzz(good, (b) => loadSafetensors(b), { seed: 2103, budgetMs: 3000, maxCases: 600, prefix: /^safetensors: / });
    expect(cases).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(cases / 4);
  });
});
