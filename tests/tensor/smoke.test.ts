import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';

describe('smoke', () => {
  it('adds, multiplies, reduces and backprops', async () => {
    const x = kiln.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const w = kiln.tensor([[1, 0], [0, 1], [1, 1]], { requiresGrad: true });
    const y = x.matmul(w).add(kiln.ones([2])).tanh();
    const s = y.sum();
    s.backward();
    console.log(await y.toArray(), await s.item(), await x.grad!.toArray(), await w.grad!.toArray());
    expect(await s.item()).toBeCloseTo(Math.tanh(5) + Math.tanh(6) + Math.tanh(11) + Math.tanh(12), 5);
  });
});
