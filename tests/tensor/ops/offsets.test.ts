// Fused ops on views that start partway into their buffer (select, narrow, the slices a cat gradient
// hands back): every kernel must honour the view's offset.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { randomArray } from '../../helpers/random.js';

describe('fused ops on offset views', () => {
  const rows = randomArray(3 * 8, 17);
  const base = (): kiln.Tensor => kiln.tensor(Float32Array.from(rows), { shape: [3, 8] });

  it('layerNorm, rmsNorm, softmax, dropout and crossEntropy read the view, not the buffer start', async () => {
    const b = base();
    const row1 = b.select(0, 1); // offset 8
    const copy = row1.clone(); // the same values at offset 0
    const pairs: [string, (x: kiln.Tensor) => kiln.Tensor][] = [
      ['layerNorm', (x) => kiln.F.layerNorm(x, [8])],
      ['rmsNorm', (x) => kiln.F.rmsNorm(x, [8])],
      ['softmax', (x) => kiln.F.softmax(x, 0)],
      ['dropout p≈0', (x) => kiln.F.dropout(x, 1e-9)],
      ['crossEntropy', (x) => kiln.F.crossEntropy(x.unsqueeze(0), kiln.tensor(Int32Array.from([3])))],
    ];
    for (const [name, f] of pairs) expect(Array.from(await f(row1).data()), name).toEqual(Array.from(await f(copy).data()));
  });

  it('gradients that arrive as offset slices (cat backward) reach the input intact', async () => {
    const x = kiln.tensor(Float32Array.from(rows.slice(0, 4)), { requiresGrad: true });
    const other = kiln.zeros([4]);
    const w = kiln.tensor(Float32Array.from([1, -2, 3, 0.5]));
    kiln.cat([other, kiln.F.layerNorm(x, [4])], 0).mul(kiln.cat([w, w])).sum().backward();
    const viaCat = Array.from(await x.grad!.data());
    const y = kiln.tensor(Float32Array.from(rows.slice(0, 4)), { requiresGrad: true });
    kiln.F.layerNorm(y, [4]).mul(w).sum().backward();
    expect(viaCat).toEqual(Array.from(await y.grad!.data()));
    expect(viaCat.some((v) => v !== 0)).toBe(true);
  });
});
