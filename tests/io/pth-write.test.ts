// kiln.io.savePth / encodePth: torch's zip layout (archive/ records, 64-byte aligned stored data, version,
// byteorder), read back through Kiln's own reader: shared storages, 0-d tensors, tuples, numbers, ZIP64.
// torch.load(weights_only=True) on these files is checked by tests/fixtures/gen_export.py.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { PthFloat, PthOrderedDict, PthTuple, encodePth, savePth } from '../../src/io/pth-write.js';
import { PyDict, PyTuple, TensorRef } from '../../src/io/pickle.js';
import { ZipArchive, bytesSource } from '../../src/io/zip.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

const concat = (chunks: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

describe('savePth', () => {
  it(`writes torch's zip layout and round-trips through loadPth (seed ${TEST_SEED})`, async () => {
    const w = kiln.tensor(Float32Array.from(randomArray(12, TEST_SEED)), { shape: [3, 4] });
    const wt = w.transpose(0, 1); // a view of w's storage
    const row = w.select(0, 1); // another view, offset 4
    const scalar = kiln.tensor(new Float32Array([2.5]), { shape: [] });
    const ids = kiln.tensor(new Int32Array([-3, 7, 1 << 30]), { dtype: 'i32' });
    const half = kiln.tensor(new Float32Array([0.5, -2]), { dtype: kiln.deviceInfo().features.includes('shader-f16') ? 'f16' : 'f32' });
    const tensors = new Map<string, kiln.Tensor>([['w', w], ['wt', wt], ['row', row], ['scalar', scalar], ['ids', ids], ['half', half]]);
    const sd = new PthOrderedDict(tensors);
    const bytes = concat(await encodePth(sd));
    // tests/fixtures/gen_export.py loads this file with torch.load(weights_only=True).
    if (process.env['KILN_WRITE_FIXTURES'] === '1') {
      writeFileSync(new URL('../fixtures/export/views.pt', import.meta.url), bytes);
      writeFileSync(new URL('../fixtures/export/views_zip64.pt', import.meta.url), concat(await encodePth(sd, { zip64: true })));
    }
    const zip = await ZipArchive.open(bytesSource(bytes));
    const names = zip.entries.map((e) => e.name);
    expect(names).toEqual(['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/data/1', 'archive/data/2', 'archive/data/3', 'archive/version']);
    for (const e of zip.entries) {
      expect(e.method).toBe(0);
      const dv = new DataView(bytes.buffer, e.localHeaderOffset);
      expect((e.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true)) % 64, e.name).toBe(0);
    }
    expect(new TextDecoder().decode(await zip.read(zip.get('archive/version')!))).toBe('3\n');
    expect(new TextDecoder().decode(await zip.read(zip.get('archive/byteorder')!))).toBe('little');
    const info = await kiln.io.listPth(bytes);
    expect(info.map((i) => [i.name, i.storage, i.offset, i.stride])).toEqual([
      ['w', '0', 0, [4, 1]],
      ['wt', '0', 0, [1, 4]],
      ['row', '0', 4, [1]],
      ['scalar', '1', 0, []],
      ['ids', '2', 0, [1]],
      ['half', '3', 0, [1]],
    ]);
    const back = await kiln.io.loadPth(bytes);
    for (const [k, t] of tensors) expect(Array.from(await back.get(k)!.data()), k).toEqual(Array.from(await t.data()));
    expect(back.get('scalar')!.shape).toEqual([]);
    for (const t of [...back.values(), ...tensors.values()]) t.dispose();
  });

  it('writes nested dicts, lists, tuples, ints, floats, strings, None and booleans as torch.load reads them', async () => {
    const m = kiln.tensor(new Float32Array([1, 2, 3]));
    const value = {
      epoch: 3,
      name: 'run',
      big: 2n ** 60n,
      neg: -70000,
      optimizer: { state: new Map([[0, { step: kiln.tensor(new Float32Array([5]), { shape: [] }), exp_avg: m }]]), param_groups: [{ lr: 5e-4, betas: new PthTuple([0.9, 0.98]), weight_decay: new PthFloat(0), foreach: null, amsgrad: false, params: [0] }] },
    };
    const tree = await kiln.io.loadPthTree(concat(await encodePth(value, { zip64: true })));
    const root = tree.root as PyDict;
    expect(root.map.get('epoch')).toBe(3);
    expect(root.map.get('name')).toBe('run');
    expect(root.map.get('big')).toBe(2n ** 60n);
    expect(root.map.get('neg')).toBe(-70000);
    const opt = root.map.get('optimizer') as PyDict;
    const g = (opt.map.get('param_groups') as PyDict[])[0]!;
    expect((g.map.get('betas') as PyTuple).items).toEqual([0.9, 0.98]);
    expect(g.map.get('lr')).toBe(5e-4);
    expect(g.map.get('weight_decay')).toBe(0);
    expect(g.map.get('foreach')).toBeNull();
    expect(g.map.get('amsgrad')).toBe(false);
    expect(g.map.get('params')).toEqual([0]);
    const st = (opt.map.get('state') as PyDict).map.get(0) as PyDict;
    const step = st.map.get('step') as TensorRef;
    expect(step.shape).toEqual([]);
    expect(Array.from(await tree.tensors.get(step)!.data())).toEqual([5]);
    expect(Array.from(await tree.tensors.get(st.map.get('exp_avg') as TensorRef)!.data())).toEqual([1, 2, 3]);
    for (const t of tree.tensors.values()) t.dispose();
    m.dispose();
  });

  it('writes atomically to a path and refuses what torch cannot hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-pth-'));
    const t = kiln.tensor(new Float32Array([1, 2]));
    await savePth(join(dir, 'a.pt'), new Map([['t', t]]));
    expect(readFileSync(join(dir, 'a.pt')).subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    const u = kiln.tensor(new Uint32Array([1]), { dtype: 'u32' });
    await expect(encodePth({ u })).rejects.toThrow(/savePth: torch has no uint32/);
    t.dispose();
    u.dispose();
  });
});
