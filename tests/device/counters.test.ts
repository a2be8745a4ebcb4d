// Work counters (kiln.stats): exact counts for a known sequence of ops, readbacks, and a steady-state
// training loop that creates no buffer and compiles no pipeline after warm-up.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { dispatchFreshKernel } from '../helpers/fresh-kernel.js';
import { tinyTrainer } from '../helpers/train-step.js';

describe('kiln.stats', () => {
  let poison = true;
  beforeEach(() => {
    // NaN-poisoning dispatches a fill per allocation; the exact counts below are those of the ops alone.
    poison = kiln.setPoison(false);
  });
  afterEach(() => {
    kiln.setPoison(poison);
  });

  it('counts the uploads, dispatches, submits and readbacks of a known sequence of ops', async () => {
    const warm = kiln.tensor([1, 2, 3, 4]).add(1).mul(2);
    await warm.data(); // compiles the two kernels
    warm.dispose();
    await kiln.flush();
    kiln.resetStats();
    const a = kiln.tensor([1, 2, 3, 4]);
    const b = a.add(1);
    const c = b.mul(2);
    expect(kiln.stats()).toMatchObject({ uploads: 1, bytesUploaded: 16, dispatches: 2, submits: 0, readbacks: 0, pipelineCompiles: 0 });
    expect(Array.from(await c.data())).toEqual([4, 6, 8, 10]);
    const s = kiln.stats();
    expect(s).toMatchObject({ dispatches: 2, submits: 1, readbacks: 1, bytesReadBack: 16, pipelineCompiles: 0 });
    // the upload's staging copy and the readback's copy to the staging buffer
    expect(s.copies).toBe(2);
    for (const t of [a, b, c]) t.dispose();
  });

  it('counts one readback per data() and none for work that is only flushed', async () => {
    const x = kiln.randn([10, 3]);
    const y = x.sum(1);
    kiln.resetStats();
    await kiln.flush();
    expect(kiln.stats().readbacks).toBe(0);
    await y.data();
    await x.data();
    expect(kiln.stats()).toMatchObject({ readbacks: 2, bytesReadBack: 4 * (10 + 30) });
    x.dispose();
    y.dispose();
  });

  it('a pipeline compile is counted once per new kernel', async () => {
    const x = kiln.zeros([4]);
    await kiln.flush();
    kiln.resetStats();
    const v = dispatchFreshKernel(x);
    expect((await x.data())[0]).toBe(v);
    expect(kiln.stats()).toMatchObject({ pipelineCompiles: 1, dispatches: 1 });
    // the same kernel again hits the cache
    const y = x.mul(2);
    await y.data();
    const compiled = kiln.stats().pipelineCompiles;
    const z = x.mul(2);
    await z.data();
    expect(kiln.stats().pipelineCompiles).toBe(compiled);
    for (const t of [x, y, z]) t.dispose();
  });

  it('resetStats starts a new window without touching memory()', async () => {
    const x = kiln.ones([4]).add(1);
    await x.data();
    const before = kiln.memory();
    kiln.resetStats();
    expect(kiln.stats()).toEqual({ submits: 0, dispatches: 0, readbacks: 0, bytesReadBack: 0, debugReadbacks: 0, buffersCreated: 0, pipelineCompiles: 0, uploads: 0, bytesUploaded: 0, copies: 0 });
    expect(kiln.memory().dispatches).toBe(before.dispatches);
    expect(kiln.memory().submits).toBe(before.submits);
    x.dispose();
  });
});

describe('a tidy steady-state training loop', () => {
  it('creates no buffer, compiles no pipeline and reads nothing back after warm-up', async () => {
    const t = tinyTrainer();
    for (let i = 0; i < 3; i++) t.step();
    await kiln.flush();
    kiln.resetStats();
    t.step();
    const perStep = kiln.stats().dispatches;
    for (let i = 0; i < 9; i++) t.step();
    await kiln.flush();
    const s = kiln.stats();
    expect(s.buffersCreated).toBe(0);
    expect(s.pipelineCompiles).toBe(0);
    expect(s.readbacks).toBe(0);
    expect(perStep).toBeGreaterThan(10);
    expect(s.dispatches).toBe(10 * perStep);
    t.dispose();
  });
});
