// Command batching and the buffer pool: recycled buffers across a pending batch, compile errors that name
// the kernel and line, many awaited submits, and dispatch grids past 65,535 workgroups.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { dispatch } from '../../src/device/batch.js';

describe('command batching', () => {
  it('keeps results right when a buffer is recycled while a batch that reads it is pending', async () => {
    const a = kiln.tensor(Float32Array.from({ length: 1000 }, (_, i) => i));
    const b = a.mul(2); // recorded, not submitted
    a.dispose(); // a's buffer goes back to the pool while b's kernel still has to read it
    const before = kiln.memory().buffersCreated;
    const c = kiln.tensor(Float32Array.from({ length: 1000 }, () => -1)); // same bucket: reuses a's buffer
    expect(kiln.memory().buffersCreated).toBe(before);
    const got = await b.data();
    expect(Array.from(got.slice(0, 4))).toEqual([0, 2, 4, 6]);
    expect(got[999]).toBe(1998);
    expect((await c.data())[0]).toBe(-1);
    b.dispose();
    c.dispose();
  });

  it('reports a WGSL compile error with the kernel name, line:column and the source line', async () => {
    dispatch({
      kernel: { name: 'broken-test-kernel', code: '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}', bindings: [] },
      buffers: [],
      workgroups: [1, 1, 1],
    });
    await expect(kiln.flush()).rejects.toThrow(/broken-test-kernel[\s\S]*3:\d+[\s\S]*undefined_thing/);
  });

  it('survives 500 awaited submits in a row', async () => {
    const x = kiln.zeros([64]);
    for (let i = 0; i < 500; i++) {
      x.add_(1);
      if (i % 1 === 0) await kiln.flush();
    }
    expect((await x.data())[63]).toBe(500);
    x.dispose();
  });

  it('folds dispatches larger than 65,535 workgroups into a 2-D grid', async () => {
    const n = 65535 * 256 + 300;
    const x = kiln.full([n], 3);
    const y = x.add(1);
    const d = await y.data();
    expect(d[0]).toBe(4);
    expect(d[n - 1]).toBe(4);
    expect(d[65535 * 256 + 17]).toBe(4);
    x.dispose();
    y.dispose();
  });
});

describe('emptyCache', () => {
  it('waits for recorded work that still reads a freed buffer before destroying the pool', async () => {
    const x = kiln.tensor(Float32Array.from([1, 2, 3]));
    const y = x.mul(2);
    x.dispose();
    await kiln.emptyCache();
    expect(kiln.memory().pooledBytes).toBe(0);
    expect(Array.from(await y.data())).toEqual([2, 4, 6]);
    y.dispose();
  });
});
