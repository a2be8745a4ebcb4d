// f16 on a device without shader-f16: a device is created without the feature (init's `f16: false`),
// and every way of making an f16 tensor refuses with a message naming the missing feature.
import { afterAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { gpu } from '../../src/device/gpu.js';

async function restart(options: kiln.InitOptions): Promise<void> {
  const ctx = gpu();
  ctx.device.destroy();
  await ctx.device.lost;
  await kiln.init(options);
}

describe('f16 without shader-f16', () => {
  afterAll(async () => {
    await restart({});
  });

  it('refuses f16 creation and casts with a clear error', async () => {
    await restart({ f16: false });
    expect(kiln.deviceInfo().features).not.toContain('shader-f16');
    expect(() => kiln.zeros([2], { dtype: 'f16' })).toThrow(/zeros: dtype f16 needs the adapter feature 'shader-f16'/);
    expect(() => kiln.tensor([1, 2], { dtype: 'f16' })).toThrow(/tensor: dtype f16 needs the adapter feature 'shader-f16'/);
    expect(() => kiln.ones([2]).cast('f16')).toThrow(/cast: dtype f16 needs the adapter feature 'shader-f16'/);
    // f32 work is unaffected
    expect(Array.from(await kiln.ones([2]).mul(3).data())).toEqual([3, 3]);
  });
});
