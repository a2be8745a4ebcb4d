// Views: values against the float64 reference, storage sharing (a write through the view changes the base),
// and when a reshape must copy (view refuses, reshape copies).
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { ND } from '../helpers/reference.js';
import { disposeAfterEach, pair, read } from '../helpers/inputs.js';

const keep = disposeAfterEach();

async function expectValues(t: Tensor, ref: ND): Promise<void> {
  expect(t.shape).toEqual(ref.shape);
  expect(Array.from(await read(t))).toEqual(ref.toArray());
}

/** Fills the view with 100 + its row-major index and checks the base changed exactly there. */
async function expectShares(base: Tensor, baseRef: ND, view: Tensor, viewRef: ND): Promise<void> {
  expect(view.storage).toBe(base.storage);
  const marks = keep(kiln.tidy(() => kiln.arange(view.numel(), undefined, 1, { dtype: 'f32' }).add(100).reshape(view.shape)));
  view.copy_(marks);
  const expected = new ND(baseRef.values(), baseRef.shape);
  const ev = new ND(expected.data, viewRef.shape, viewRef.strides, viewRef.offset);
  for (let i = 0; i < ev.size; i++) ev.set(i, 100 + i);
  await expectValues(base, expected);
}

describe('views share storage and read the right elements', () => {
  const cases: [string, (t: Tensor) => Tensor, (r: ND) => ND][] = [
    ['view', (t) => t.view([4, 6]), (r) => new ND(r.data, [4, 6])],
    ['view with -1', (t) => t.view([-1, 3]), (r) => new ND(r.data, [8, 3])],
    ['reshape (contiguous: a view)', (t) => t.reshape([2, 12]), (r) => new ND(r.data, [2, 12])],
    ['permute', (t) => t.permute([2, 0, 1]), (r) => r.permute([2, 0, 1])],
    ['permute negative dims', (t) => t.permute([-1, -3, -2]), (r) => r.permute([2, 0, 1])],
    ['transpose', (t) => t.transpose(0, -1), (r) => r.transpose(0, 2)],
    ['mT', (t) => t.mT, (r) => r.transpose(1, 2)],
    ['t() of 2-D', (t) => t.select(0, 1).t(), (r) => r.select(0, 1).transpose(0, 1)],
    ['slice', (t) => t.slice(1, 1, 3), (r) => r.slice(1, 1, 3)],
    ['slice negative bounds', (t) => t.slice(-1, -3, -1), (r) => r.slice(2, 1, 3)],
    ['slice with step', (t) => t.slice(2, 0, undefined, 3), (r) => r.slice(2, 0, 4, 3)],
    ['slice clamps out-of-range bounds', (t) => t.slice(1, -10, 10, 2), (r) => r.slice(1, 0, 3, 2)],
    ['narrow', (t) => t.narrow(2, 1, 2), (r) => r.slice(2, 1, 3)],
    ['narrow negative start', (t) => t.narrow(-1, -2, 2), (r) => r.slice(2, 2, 4)],
    ['select', (t) => t.select(1, -1), (r) => r.select(1, 2)],
    ['unsqueeze', (t) => t.unsqueeze(1), (r) => new ND(r.data, [2, 1, 3, 4])],
    ['unsqueeze at the end', (t) => t.unsqueeze(-1), (r) => new ND(r.data, [2, 3, 4, 1])],
    ['squeeze', (t) => t.slice(1, 0, 1).squeeze(), (r) => r.select(1, 0)],
    ['squeeze one dim', (t) => t.slice(0, 0, 1).squeeze(0), (r) => r.select(0, 0)],
    ['flatten', (t) => t.flatten(), (r) => new ND(r.data, [24])],
    ['flatten range', (t) => t.flatten(1), (r) => new ND(r.data, [2, 12])],
    ['flatten of a view (stays a view when possible)', (t) => t.slice(0, 1).flatten(1, 2), (r) => new ND(r.data, [1, 12], [12, 1], 12)],
    ['detach', (t) => t.detach(), (r) => r],
    ['contiguous of a contiguous tensor is itself', (t) => t.contiguous(), (r) => r],
    ['expand (writes go to the one shared element)', (t) => t.select(0, 0).select(0, 0).slice(0, 0, 1).expand([3, 1]), (r) => r.select(0, 0).select(0, 0).slice(0, 0, 1).expand([3, 1])],
  ];
  for (const [name, run, ref] of cases) {
    it(name, async () => {
      const b = pair([2, 3, 4], 5);
      const base = keep(b.t);
      const v = keep(run(base));
      const vr = ref(b.ref);
      await expectValues(v, vr);
      if (name.startsWith('expand')) {
        // every element of the expanded view is the same storage element
        expect(v.strides[0]).toBe(0);
        return;
      }
      await expectShares(base, b.ref, v, vr);
    });
  }

  it('chunk and split give views covering the dimension', async () => {
    const b = pair([7, 3], 8);
    const base = keep(b.t);
    const chunks = base.chunk(3).map(keep);
    expect(chunks.map((c) => c.shape[0])).toEqual([3, 3, 1]);
    const splits = base.split([2, 5]).map(keep);
    expect(splits.map((c) => c.shape)).toEqual([[2, 3], [5, 3]]);
    const cols = base.split(2, 1).map(keep);
    expect(cols.map((c) => c.shape)).toEqual([[7, 2], [7, 1]]);
    await expectValues(chunks[1]!, b.ref.slice(0, 3, 6));
    await expectValues(splits[1]!, b.ref.slice(0, 2, 7));
    await expectValues(cols[1]!, b.ref.slice(1, 2, 3));
    expect(kiln.tensor([1, 2, 3, 4]).chunk(4).length).toBe(4);
    await expectShares(base, b.ref, cols[0]!, b.ref.slice(1, 0, 2));
  });
});

describe('reshape, view and contiguous on non-contiguous layouts', () => {
  it('view refuses when a copy would be needed; reshape copies', async () => {
    const b = pair([3, 4], 9);
    const base = keep(b.t);
    const tr = keep(base.t());
    expect(() => tr.view([12])).toThrow(/view: size \[12\] is not compatible with input tensor's size \[4,3\] and stride \[1,4\].*use reshape/);
    const r = keep(tr.reshape([12]));
    expect(r.storage).not.toBe(base.storage);
    expect(r.isContiguous()).toBe(true);
    await expectValues(r, b.ref.transpose(0, 1).reshape([12]));
    // a view of a transposed tensor that keeps the split dimension intact is fine
    const v = keep(tr.view([2, 2, 3]));
    expect(v.storage).toBe(base.storage);
    await expectValues(v, b.ref.transpose(0, 1).reshape([2, 2, 3]));
    const c = keep(tr.contiguous());
    expect(c.isContiguous()).toBe(true);
    expect(c.storage).not.toBe(base.storage);
    await expectValues(c, b.ref.transpose(0, 1).reshape([4, 3]));
    // every other column: rows of stride 4 and columns of stride 2 merge into one axis of stride 2
    const s = keep(base.slice(1, 0, undefined, 2));
    expect(keep(s.view([6])).strides).toEqual([2]);
    const n = keep(base.slice(1, 0, 3));
    expect(() => n.view([9])).toThrow(/view: size \[9\].*\[3,3\].*\[4,1\]/);
    await expectValues(keep(n.reshape([9])), b.ref.slice(1, 0, 3).reshape([9]));
    await expectValues(keep(n.flatten()), b.ref.slice(1, 0, 3).reshape([9]));
  });

  it('views of views compose offsets and strides', async () => {
    const b = pair([5, 6, 7], 11);
    const base = keep(b.t);
    const v = keep(base.permute([2, 0, 1]).slice(0, 1, 6, 2).select(2, 3).mT.narrow(0, 1, 2).unsqueeze(0));
    const r = b.ref.permute([2, 0, 1]).slice(0, 1, 6, 2).select(2, 3).transpose(0, 1).slice(0, 1, 3);
    await expectValues(v, new ND(r.data, [1, ...r.shape], [0, ...r.strides], r.offset));
    await expectShares(base, b.ref, v, new ND(r.data, [1, ...r.shape], [0, ...r.strides], r.offset));
  });

  it('shape helpers: size, dim, numel, isContiguous, 0-d tensors', () => {
    const t = keep(kiln.zeros([2, 3, 4]));
    expect(t.size()).toEqual([2, 3, 4]);
    expect(t.size(-1)).toBe(4);
    expect(t.dim()).toBe(3);
    expect(t.numel()).toBe(24);
    expect(keep(t.mT).isContiguous()).toBe(false);
    const s = keep(kiln.tensor(3));
    expect(keep(s.reshape([1, 1])).shape).toEqual([1, 1]);
    expect(keep(s.unsqueeze(0)).shape).toEqual([1]);
    expect(keep(s.flatten()).shape).toEqual([1]);
    expect(keep(s.t()).shape).toEqual([]);
    expect(keep(keep(kiln.zeros([1, 1])).squeeze()).shape).toEqual([]);
  });
});
