// Checked mode (kiln.setDebug(true), on in tests/setup.ts): out-of-range indices of indexSelect,
// embedding, gather, scatterAdd and crossEntropy targets raise a GPU flag that the next readback turns
// into an error naming the op; in-range work and ignored targets pass; unchecked mode stays silent.
import { afterEach, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const ids = (v: number[], shape = [v.length]): kiln.Tensor => kiln.tensor(Int32Array.from(v), { shape });

describe('checked mode', () => {
  afterEach(async () => {
    kiln.setDebug(true);
    await kiln.flush(); // nothing left flagged for the next test
  });

  it('indexSelect and embedding: error at data() naming the op and the value', async () => {
    const x = kiln.randn(5, 3);
    const bad = x.indexSelect(0, ids([1, 7]));
    await expect(bad.data()).rejects.toThrow('indexSelect (also F.embedding / nn.Embedding): index 7 is out of range for a dimension of size 5');
    const emb = kiln.F.embedding(ids([-1, 0], [1, 2]), x);
    await expect(emb.data()).rejects.toThrow(/index -1 is out of range for a dimension of size 5/);
    // the flag was cleared by the throw: in-range work reads back normally
    expect((await x.indexSelect(0, ids([4, 0])).data()).length).toBe(6);
  });

  it('gather and scatterAdd: error at item() / flush()', async () => {
    const x = kiln.randn(2, 3);
    const g = x.gather(1, ids([0, 3, 1, 2], [2, 2])).sum();
    await expect(g.item()).rejects.toThrow('gather: index 3 is out of range for a dimension of size 3');
    x.scatterAdd(1, ids([0, -2], [1, 2]), kiln.ones(1, 2));
    await expect(kiln.flush()).rejects.toThrow('scatterAdd: index -2 is out of range for a dimension of size 3');
  });

  it('crossEntropy: a target past the classes throws, the ignore index does not', async () => {
    const logits = kiln.randn(3, 4);
    const ok = kiln.F.crossEntropy(logits, ids([0, -100, 3]));
    expect(Number.isFinite(await ok.item())).toBe(true);
    const bad = kiln.F.crossEntropy(logits, ids([0, 4, 3]));
    await expect(bad.item()).rejects.toThrow('crossEntropy: target 4 is out of bounds for 4 classes');
  });

  it('is off by default: setDebug(false) clamps and reads back without error', async () => {
    expect(kiln.setDebug(false)).toBe(true);
    const x = kiln.tensor([10, 20, 30]);
    expect(Array.from(await x.indexSelect(0, ids([9, -3])).data())).toEqual([30, 10]);
  });
});
