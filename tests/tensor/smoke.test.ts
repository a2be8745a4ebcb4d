import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { gradcheck } from '../helpers/gradcheck.js';

describe('smoke', () => {
  it('runs the README example end to end', async () => {
    const x = kiln.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const w = kiln.tensor([[0.1, 0], [0, 0.1], [0.1, 0.1]], { requiresGrad: true });
    const s = x.matmul(w).add(kiln.ones([2])).tanh().sum();
    s.backward();
    const ref = [1.4, 1.5, 2, 2.1].reduce((a, v) => a + Math.tanh(v), 0);
    expect(await s.item()).toBeCloseTo(ref, 5);
    expect(x.grad!.shape).toEqual([2, 3]);
  });

  it('gradchecks a small composite', async () => {
    await gradcheck((a, b) => a.matmul(b).tanh().mul(a.sum(1, true)), [{ shape: [3, 4] }, { shape: [4, 2] }]);
  });
});
