// The tape and its walker: what gets recorded (and what does not), broadcasting undone in backward, .grad
// accumulation, retainGraph, noGrad, detach, freezing with requiresGrad_, version counters and in-place
// rules on leaves and non-leaves.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { disposeAfterEach, read } from '../helpers/inputs.js';

const keep = disposeAfterEach();

const leaf = (v: number[] | number[][], opts: { requiresGrad?: boolean } = { requiresGrad: true }): Tensor => keep(kiln.tensor(v, opts));
const grad = async (t: Tensor): Promise<number[]> => Array.from(await t.grad!.data());

describe('recording', () => {
  it('records only when some input requires grad; comparisons and casts to int record nothing', () => {
    const a = leaf([1, 2, 3], {});
    const b = leaf([4, 5, 6], {});
    const c = keep(a.mul(b).exp());
    expect(c.requiresGrad).toBe(false);
    expect(c.gradFn).toBeNull();
    const w = leaf([1, 1, 1]);
    const d = keep(a.mul(w));
    expect(d.requiresGrad).toBe(true);
    expect(d.gradFn?.name).toBe('mul');
    expect(d.isLeaf).toBe(false);
    expect(keep(d.gt(0)).gradFn).toBeNull();
    expect(keep(d.cast('i32')).requiresGrad).toBe(false);
    expect(keep(d.argmax()).requiresGrad).toBe(false);
  });

  it('noGrad records nothing and nests; isGradEnabled reports it', () => {
    const w = leaf([1, 2]);
    const y = kiln.noGrad(() => {
      expect(kiln.isGradEnabled()).toBe(false);
      const inner = kiln.noGrad(() => keep(w.mul(2)));
      expect(kiln.isGradEnabled()).toBe(false);
      return keep(inner.add(w));
    });
    expect(kiln.isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() => kiln.noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(kiln.isGradEnabled()).toBe(true);
  });

  it('detach cuts the graph and shares storage', async () => {
    const x = leaf([1, 2, 3]);
    const y = keep(x.mul(3));
    const d = keep(y.detach());
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(d.storage).toBe(y.storage);
    const z = keep(y.mul(d).sum());
    z.backward();
    // d(y·stop(y))/dx = 3·stop(y) = 3·3x
    expect(await grad(x)).toEqual([9, 18, 27]);
  });

  it('requiresGrad_ freezes and unfreezes leaves; non-leaves cannot be frozen', async () => {
    const w = leaf([1, 2]);
    const b = leaf([3, 4]);
    b.requiresGrad_(false);
    const y = keep(w.mul(b).add(b).sum());
    y.backward();
    expect(await grad(w)).toEqual([3, 4]);
    expect(b.grad).toBeNull();
    b.requiresGrad_();
    keep(w.mul(b).sum()).backward();
    expect(await grad(b)).toEqual([1, 2]);
    const nl = keep(w.mul(2));
    expect(() => nl.requiresGrad_(false)).toThrow(/requiresGrad_: you can only change requiresGrad flags of leaf variables/);
  });
});

describe('backward', () => {
  it('broadcasting is summed back to each input shape ([3,1] + [3,4], [4] * [2,3,4])', async () => {
    const a = leaf([[1], [2], [3]]);
    const b = leaf([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
    keep(a.add(b).sum()).backward();
    expect(a.grad!.shape).toEqual([3, 1]);
    expect(await grad(a)).toEqual([4, 4, 4]);
    expect(await grad(b)).toEqual(new Array(12).fill(1));
    const v = leaf([1, 2, 3, 4]);
    const m = keep(kiln.ones([2, 3, 4]).mul(2));
    const s = keep(v.mul(m));
    s.backward(keep(kiln.ones([2, 3, 4])));
    expect(v.grad!.shape).toEqual([4]);
    expect(await grad(v)).toEqual([12, 12, 12, 12]);
    const sc = leaf([[2]]);
    keep(sc.mul(b).sum()).backward();
    expect(sc.grad!.shape).toEqual([1, 1]);
    expect(await grad(sc)).toEqual([78]);
  });

  it('.grad accumulates across backward calls', async () => {
    const x = leaf([1, 2, 3]);
    keep(x.mul(x).sum()).backward();
    keep(x.mul(3).sum()).backward();
    expect(await grad(x)).toEqual([5, 7, 9]);
    x.grad!.zero_();
    keep(x.sum()).backward();
    expect(await grad(x)).toEqual([1, 1, 1]);
  });

  it('retainGraph allows a second backward; without it the second backward throws clearly', async () => {
    const x = leaf([1, 2]);
    const y = keep(x.exp().mul(x).sum());
    y.backward(undefined, { retainGraph: true });
    y.backward();
    const e = [Math.exp(1) * 2, Math.exp(2) * 3].map((v) => 2 * v);
    expect(await read(x.grad!)).toBeAllClose(e, { rtol: 1e-6 });
    expect(() => y.backward()).toThrow(/backward: trying to backward through the graph a second time \(at '(mul|sum|exp)'\).*retainGraph: true/);
  });

  it('backward of a non-scalar needs a gradient of the same shape', () => {
    const x = leaf([1, 2]);
    const y = keep(x.mul(2));
    expect(() => y.backward()).toThrow(/backward: grad can be implicitly created only for scalar outputs \(got shape \[2\]\)/);
    expect(() => y.backward(keep(kiln.ones([3])))).toThrow(/backward: grad shape \[3\] does not match the tensor's shape \[2\]/);
    const c = keep(kiln.tensor([1, 2]).sum());
    expect(() => c.backward()).toThrow(/backward: element 0 of tensors does not require grad/);
  });

  it('backward on a leaf sets its gradient; a branch with no grad-requiring input is skipped', async () => {
    const x = leaf([5]);
    x.backward();
    expect(await grad(x)).toEqual([1]);
    const w = leaf([1, 2]);
    const c = leaf([3, 4], {});
    const y = keep(w.mul(2).add(c.exp().mul(c)).sum());
    y.backward();
    expect(await grad(w)).toEqual([2, 2]);
    expect(c.grad).toBeNull();
  });
});

describe('version counters and in-place rules', () => {
  it('modifying a saved tensor in place makes backward throw (w.mul_(2) after y = x.mul(w))', () => {
    const x = leaf([1, 2, 3]);
    const w = leaf([4, 5, 6], {});
    const y = keep(x.mul(w));
    w.mul_(2);
    expect(() => y.backward(keep(kiln.ones([3])))).toThrow(
      /backward of 'mul': one of the variables needed for gradient computation has been modified by an inplace operation: a tensor of shape \[3\] is at version 1; expected version 0 instead/,
    );
  });

  it('the same through a non-leaf saved tensor', () => {
    const x = leaf([1, 2, 3]);
    const w0 = leaf([4, 5, 6]);
    const w = keep(w0.mul(1));
    const y = keep(x.mul(w));
    w.mul_(2);
    expect(() => y.sum().backward()).toThrow(/modified by an inplace operation/);
  });

  it('in-place on a leaf that requires grad throws; under noGrad it is allowed', async () => {
    const w = leaf([1, 2]);
    expect(() => w.add_(1)).toThrow(/add_: a leaf tensor that requires grad is being used in an in-place operation/);
    expect(() => w.mul_(2)).toThrow(/mul_/);
    expect(() => w.zero_()).toThrow(/zero_/);
    expect(() => w.copy_(keep(kiln.ones([2])))).toThrow(/copy_/);
    kiln.noGrad(() => w.sub_(keep(kiln.tensor([0.5, 0.5]))));
    expect(Array.from(await w.data())).toEqual([0.5, 1.5]);
  });

  it('in-place ops on a non-leaf are recorded and differentiate correctly', async () => {
    const x = leaf([1, 2, 3]);
    const y = keep(x.mul(2));
    y.add_(1).mul_(3);
    keep(y.sum()).backward();
    expect(await grad(x)).toEqual([6, 6, 6]);
  });

  it('in-place ops whose gradient reads their own output (exp_, relu_, sqrt_) work on non-leaves', async () => {
    const x = leaf([0.5, 1, 2]);
    const y = keep(x.mul(2));
    y.exp_();
    keep(y.sum()).backward();
    expect(await read(x.grad!)).toBeAllClose([0.5, 1, 2].map((v) => 2 * Math.exp(2 * v)), { rtol: 1e-6 });
    const z = leaf([-1, 4, 9]);
    const s = keep(z.mul(1));
    s.relu_().sqrt_();
    keep(s.sum()).backward();
    expect(await read(z.grad!)).toBeAllClose([0, 0.25, 1 / 6], { rtol: 1e-6 });
  });

  it('in-place ops whose gradient reads the overwritten input (mul_ by a tensor that requires grad) give correct gradients', async () => {
    const x = leaf([1, 2, 3]);
    const w = leaf([4, 5, 6]);
    const y = keep(x.mul(1));
    y.mul_(w);
    keep(y.sum()).backward();
    expect(await grad(x)).toEqual([4, 5, 6]);
    expect(await grad(w)).toEqual([1, 2, 3]);
    const a = leaf([2, 3]);
    const b = keep(a.add(0));
    b.pow_(3);
    keep(b.sum()).backward();
    expect(await grad(a)).toEqual([12, 27]);
  });

  it('a plain tensor multiplied in place by one that requires grad joins the graph (its old values are saved)', async () => {
    const buf = leaf([1, 2, 3], {});
    const w = leaf([4, 5, 6]);
    buf.mul_(w);
    expect(buf.requiresGrad).toBe(true);
    expect(buf.gradFn?.name).toBe('mul');
    keep(buf.sum()).backward();
    expect(await grad(w)).toEqual([1, 2, 3]);
    expect(Array.from(await buf.data())).toEqual([4, 10, 18]);
  });

  it('copy_, fill_ and zero_ overwrite a non-leaf: the old history gets no gradient', async () => {
    const x = leaf([1, 2]);
    const src = leaf([5, 6]);
    const y = keep(x.mul(3));
    y.copy_(src);
    keep(y.mul(2).sum()).backward();
    expect(await grad(src)).toEqual([2, 2]);
    expect(x.grad === null || (await grad(x)).every((v) => v === 0)).toBe(true);
    const x2 = leaf([1, 2]);
    const y2 = keep(x2.mul(3));
    y2.copy_(keep(kiln.tensor([7, 8])));
    keep(y2.mul(2).add(x2).sum()).backward();
    expect(await grad(x2)).toEqual([1, 1]);
    const x3 = leaf([1, 2]);
    const y3 = keep(x3.mul(3));
    y3.fill_(2);
    keep(y3.add(x3).sum()).backward();
    expect(await grad(x3)).toEqual([1, 1]);
  });

  it('in-place write through a view of a non-leaf is refused rather than silently dropped from the base', () => {
    const x = leaf([1, 2, 3, 4]);
    const y = keep(x.mul(2));
    const v = keep(y.slice(0, 1, 3));
    expect(() => v.mul_(5)).toThrow(/mul_: .*view/);
    const src = leaf([1, 1]);
    const base = keep(kiln.zeros([4]));
    expect(() => keep(base.slice(0, 0, 2)).copy_(src)).toThrow(/copy_: in-place write of a tensor that requires grad into a view/);
  });
});

describe('gradient dtypes', () => {
  it('an f16 input promoted into f32 work gets an f16 gradient with the right values', async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    const a = kiln.tensor([[1, 2], [3, 4]], { dtype: 'f16', requiresGrad: true });
    const b = kiln.tensor([[1, 1], [2, 2]], { dtype: 'f16', requiresGrad: true });
    a.matmul(b).add(kiln.zeros([2, 2])).sum().backward(); // the f32 add promotes; its gradient is f32
    expect(a.grad!.dtype).toBe('f16');
    expect(Array.from(await a.grad!.data())).toEqual([2, 4, 2, 4]); // dA = 1·Bᵀ
    expect(Array.from(await b.grad!.data())).toEqual([4, 4, 6, 6]); // dB = Aᵀ·1
  });
});

describe('views of a tensor written in place', () => {
  it('backward through a view whose base was modified in place throws the version error', async () => {
    const x = kiln.tensor([1, 2, 3], { requiresGrad: true });
    const a = x.add(1);
    const v = a.reshape([3]);
    a.mul_(2);
    expect(Array.from(await v.data())).toEqual([4, 6, 8]);
    expect(() => v.sum().backward()).toThrow(/modified by an inplace operation/);
  });
});
