// safetensors: write → read round trip (f32, f16, i32, bool, metadata), BF16/I64/U8 decoding, streaming
// order, and the header validation errors (bad JSON, dtype, offsets, byte lengths, huge headers).
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { iterateSafetensors, listSafetensors, loadSafetensors, saveSafetensors } from '../../src/io/safetensors.js';

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
    await expect(bad(null, d8, '{not json')).rejects.toThrow(/not valid UTF-8 JSON/);
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
});
