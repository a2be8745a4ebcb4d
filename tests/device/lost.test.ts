// Device loss: tensors of the lost device throw a clear error, and init() creates a new device.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { gpu } from '../../src/device/gpu.js';

describe('device loss', () => {
  it('throws on tensors of a lost device and recovers with a new init()', async () => {
    const x = kiln.ones([4]);
    await x.data();
    const ctx = gpu();
    const gen = ctx.generation;
    ctx.device.destroy();
    await ctx.device.lost;
    expect(() => x.add(1)).toThrow(/lost|kiln.init/);
    const info = await kiln.init();
    expect(info.generation).toBe(gen + 1);
    const y = kiln.full([3], 2).mul(3);
    expect(Array.from(await y.data())).toEqual([6, 6, 6]);
    y.dispose();
    x.dispose();
  });
});
