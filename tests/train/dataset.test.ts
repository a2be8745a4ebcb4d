// The dataset interface and loader: samples depend only on (seed, epoch, index); each epoch is a fresh
// permutation; the loader's position can be saved and restored to continue with the very same batches.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const inputs = { image: { shape: [3, 4, 4], dtype: 'f32' as const }, text: { shape: [6], dtype: 'i32' as const, vocab: 50 } };
const make = (seed = 3): kiln.train.RandomDataset => new kiln.train.RandomDataset(inputs, { size: 10, classes: 3, noise: 0.5, seed });

async function batchData(loader: kiln.train.Loader): Promise<number[][]> {
  const { inputs: b } = loader.next();
  const out = [Array.from(await b['image']!.data()), Array.from(await b['text']!.data())];
  for (const t of Object.values(b)) t.dispose();
  return out;
}

describe('datasets and the loader', () => {
  it('a sample is a function of (seed, epoch, index): same bytes when asked again, new noise in a new epoch', () => {
    const a = make();
    const b = make();
    expect(a.get(4, 1)).toEqual(b.get(4, 1));
    expect(a.get(4, 1)['image']).not.toEqual(a.get(4, 2)['image']);
    expect(make(4).get(4, 1)['image']).not.toEqual(a.get(4, 1)['image']);
    const t = a.get(7, 0)['text'] as Int32Array;
    expect(t[t.length - 1]).toBe(49); // the end token is the largest id (argmax pooling)
    expect(Math.max(...t.slice(0, -1))).toBeLessThan(49);
    expect(() => a.get(10, 0)).toThrow(/index 10 out of range \[0, 10\)/);
  });

  it('shuffles per epoch, drops the last partial batch, and resumes from a saved position with the same batches', async () => {
    const loader = new kiln.train.Loader(make(), 4, 11, ['image', 'text']);
    expect(loader.stepsPerEpoch).toBe(2);
    const seen: number[][] = [];
    for (let i = 0; i < 4; i++) seen.push([...loader.next().indices]);
    expect(new Set(seen[0]!.concat(seen[1]!)).size).toBe(8);
    expect(seen[2]).not.toEqual(seen[0]); // epoch 1 is another permutation
    const l2 = new kiln.train.Loader(make(), 4, 11, ['image', 'text']);
    l2.next();
    const pos = l2.position();
    expect(pos).toEqual({ epoch: 0, batch: 1 });
    const ahead = await batchData(l2);
    const l3 = new kiln.train.Loader(make(), 4, 11, ['image', 'text']);
    l3.restore(pos);
    expect(await batchData(l3)).toEqual(ahead);
    expect(() => l3.restore({ epoch: -1, batch: 0 })).toThrow(/invalid data position/);
    expect(() => new kiln.train.Loader(make(), 4, 11, ['audio'])).toThrow(/no modality 'audio'/);
  });

  it('collates per modality with the sample shapes and dtypes, and names a bad sample', () => {
    const x = kiln.train.collate([make().get(0, 0), make().get(1, 0)], 'text', inputs.text);
    expect([x.shape, x.dtype]).toEqual([[2, 6], 'i32']);
    x.dispose();
    expect(() => kiln.train.collate([{ text: new Float32Array(6) }], 'text', inputs.text)).toThrow(/sample 0 of modality 'text' must be i32 with 6 elements, got Float32Array\(6\)/);
  });
});
