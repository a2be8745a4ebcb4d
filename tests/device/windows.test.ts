// Tensors larger than maxStorageBufferBindingSize (128 MiB on the software adapter) are bound in windows.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

describe('buffers larger than one binding', () => {
  it('runs elementwise ops and copies over a tensor past maxStorageBufferBindingSize', async () => {
    const limit = kiln.deviceInfo().limits['maxStorageBufferBindingSize']!;
    const rows = Math.ceil(limit / 4 / 1000) + 37; // a little over the limit, rows of 1000 f32
    const x = kiln.arange(rows, undefined, 1, { dtype: 'f32' }).unsqueeze(1).expand([rows, 1000]).add(0); // [rows, 1000], contiguous
    expect(x.numel() * 4).toBeGreaterThan(limit);
    const y = x.mul(2).add(kiln.arange(1000, undefined, 1, { dtype: 'f32' })); // broadcast row vector
    const tail = y.slice(0, rows - 3).contiguous(); // a copy out of the big tensor's last window
    const d = await tail.data();
    for (let r = 0; r < 3; r++) for (const c of [0, 1, 999]) expect(d[r * 1000 + c]).toBe(2 * (rows - 3 + r) + c);
    const head = await y.slice(0, 0, 2).contiguous().data();
    expect(head[1001]).toBe(2 + 1);
    for (const t of [x, y, tail]) t.dispose();
  });
});

describe('matmul with operands past one binding', () => {
  it('splits rows and K into blocks and matches a float64 reference on sampled entries', async () => {
    const limit = kiln.deviceInfo().limits['maxStorageBufferBindingSize']!;
    // a: [M, 1024] just over the limit; b: [1024, 5]; then the transposed product aᵀ·c (K = M over the limit)
    const M = Math.ceil(limit / 4 / 1024) + 3;
    kiln.manualSeed(11);
    const a = kiln.rand([M, 1024]);
    const b = kiln.rand([1024, 5]);
    const y = a.matmul(b); // [M, 5]
    const rows = [0, 1, Math.floor(M / 2), M - 1];
    const aRows = await Promise.all(rows.map((r) => a.select(0, r).contiguous().data()));
    const bd = await b.data();
    const yd = await y.data();
    for (const [i, r] of rows.entries())
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let k = 0; k < 1024; k++) s += aRows[i]![k]! * bd[k * 5 + j]!;
        expect(Math.abs(yd[r * 5 + j]! - s) / s).toBeLessThan(1e-5);
      }
    // K past the limit: aᵀ [1024, M] @ ones [M, 1] = column sums of a
    const ones = kiln.ones([M, 1]);
    const colSums = await a.mT.matmul(ones).data();
    for (const j of [0, 511, 1023]) {
      const col = await a.select(1, j).contiguous().data(); // a strided copy, itself windowed
      let ref = 0;
      for (const v of col) ref += v;
      expect(Math.abs(colSums[j]! - ref) / ref).toBeLessThan(1e-5);
    }
    for (const t of [a, b, y, ones]) t.dispose();
  });
});

describe('gather from a table past one binding', () => {
  it('indexSelect rows of a [V, D] table larger than maxStorageBufferBindingSize', async () => {
    const limit = kiln.deviceInfo().limits['maxStorageBufferBindingSize']!;
    const D = 512;
    const V = Math.ceil(limit / 4 / D) + 100;
    const table = kiln.arange(V, undefined, 1, { dtype: 'f32' }).unsqueeze(1).expand([V, D]).add(kiln.arange(D, undefined, 1, { dtype: 'f32' }).mul(1e-3));
    const ids = kiln.tensor(Int32Array.from([0, V - 1, 7, Math.floor(V / 2), V - 2]));
    const rows = await kiln.F.embedding(ids, table).data();
    [0, V - 1, 7, Math.floor(V / 2), V - 2].forEach((v, i) => {
      expect(rows[i * D]).toBe(v);
      expect(Math.abs(rows[i * D + 300]! - (v + 0.3))).toBeLessThan(0.01); // f32 spacing near 65k is 0.004
    });
    // An op that cannot split yet fails synchronously, naming the kernel and the limit.
    expect(() => table.sum(1)).toThrow(/kernel 'reduce:sum' would bind \d+ bytes .* maxStorageBufferBindingSize/);
    // backward: the table's gradient (past one binding too) is scattered in windows
    const leaf = table.detach().requiresGrad_(true);
    const picks = kiln.tensor(Int32Array.from([V - 1, 3, V - 1]));
    kiln.F.embedding(picks, leaf).sum().backward();
    const last = await leaf.grad!.select(0, V - 1).contiguous().data();
    const three = await leaf.grad!.select(0, 3).contiguous().data();
    const zero = await leaf.grad!.select(0, 4).contiguous().data();
    expect([last[0], last[D - 1], three[7], zero[0]]).toEqual([2, 2, 1, 0]);
    for (const t of [table, ids, leaf, picks]) t.dispose();
  });
});
