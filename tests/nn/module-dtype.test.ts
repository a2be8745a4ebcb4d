// Module.to(dtype) / half() / float(), as torch's: floating-point parameters, buffers and grads converted in
// place of the old tensors, names, labels, requiresGrad and sharing kept, integer buffers and meta tensors kept.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { f16 } from '../helpers/reference.js';

class Net extends kiln.nn.Module {
  readonly fc = this.registerModule('fc', new kiln.nn.Linear(5, 3));
  readonly norm = this.registerModule('norm', new kiln.nn.LayerNorm(3));
  readonly ids = this.registerBuffer('position_ids', kiln.arange(4, undefined, 1, { dtype: 'i32' }));
  readonly scale = this.registerBuffer('scale', kiln.tensor([0.1, 3.3]));
  constructor() {
    super();
    // the same tensor under a second name (tied weights): it must stay one tensor
    this.registerParameter('tied', this.fc.weight);
  }
  forward(x: kiln.Tensor): kiln.Tensor {
    return this.norm.call(this.fc.call(x));
  }
}

const hasF16 = (): boolean => kiln.deviceInfo().features.includes('shader-f16');

describe('Module.to / half / float', () => {
  it('converts float parameters, buffers and grads; keeps names, requiresGrad, sharing and integer buffers', async () => {
    if (!hasF16()) return;
    const m = new Net();
    m.norm.getParameter('bias')!.requiresGrad_(false); // a frozen parameter stays frozen
    const x = kiln.randn([2, 5]);
    m.forward(x).sum().backward();
    const before = m.stateDict();
    const labels = new Map([...before].map(([k, t]) => [k, t.label]));
    const values = new Map(await Promise.all([...before].map(async ([k, t]) => [k, Array.from(await t.data())] as const)));
    const gradW = Array.from(await m.fc.weight.grad!.data());
    expect(m.half()).toBe(m);
    const after = m.stateDict();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [k, t] of after) {
      const old = before.get(k)!;
      expect(t.dtype, k).toBe(k === 'position_ids' ? 'i32' : 'f16');
      if (k === 'position_ids') expect(t, k).toBe(old); // integer buffers are not touched
      else expect(old.isDisposed, k).toBe(true);
      // f16 rounding of each value (round to nearest even, as the cast kernel does)
      const want = k === 'position_ids' ? values.get(k)! : values.get(k)!.map(f16);
      expect(Array.from(await t.data()), k).toEqual(want);
      expect(t.isLeaf, k).toBe(true);
    }
    expect(m.getParameter('tied')).toBe(m.fc.weight);
    expect(m.fc.weight.requiresGrad).toBe(true);
    expect(m.norm.getParameter('bias')!.requiresGrad).toBe(false);
    for (const [k, t] of after) expect(t.label, k).toBe(labels.get(k));
    expect(m.fc.weight.grad!.dtype).toBe('f16');
    expect(Array.from(await m.fc.weight.grad!.data())).toEqual(gradW.map(f16));
    expect(m.norm.getParameter('bias')!.grad).toBeNull();
    // f16 forward and backward run, gradients land in f16
    m.zeroGrad();
    const y = m.forward(x.half());
    expect(y.dtype).toBe('f16');
    y.float().sum().backward();
    expect(m.fc.weight.grad!.dtype).toBe('f16');
    // and back: f32 holds every f16 value exactly
    const halfW = Array.from(await m.fc.weight.data());
    m.float();
    expect(m.fc.weight.dtype).toBe('f32');
    expect(m.fc.weight.grad!.dtype).toBe('f32');
    expect(Array.from(await m.fc.weight.data())).toEqual(halfW);
    expect(m.to('f32').fc.weight.dtype).toBe('f32'); // a no-op
    // converted inside tidy(): the module's new tensors outlive the scope
    kiln.tidy(() => m.half());
    expect(m.fc.weight.isDisposed).toBe(false);
    expect(m.fc.weight.grad!.isDisposed).toBe(false);
    expect(Array.from(await m.fc.weight.data())).toEqual(halfW);
    m.dispose();
  });

  it('keeps meta tensors meta and rejects other dtypes', () => {
    const m = new kiln.nn.Linear(4, 2, { device: 'meta' });
    m.to('f16');
    expect(m.weight.isMeta).toBe(true);
    expect(m.weight.dtype).toBe('f16');
    expect(m.weight.requiresGrad).toBe(true);
    expect(() => m.to('i32' as 'f32')).toThrow(/Linear\.to: dtype must be 'f32' or 'f16', got "i32"/);
  });
});
