// f16 on a device without shader-f16: a device is created without the feature (init's `f16: false`),
// and every way of making an f16 tensor refuses with a message naming the missing feature.
import { afterAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { gpu } from '../../src/device/gpu.js';
import { stepPrecision } from '../../src/train/precision.js';

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

  it("refuses autocast and precision 'f16-mixed' naming the feature, or falls back to f32 when asked", () => {
    expect(() => kiln.autocast('f16', () => 0)).toThrow(/autocast: f16 needs the adapter feature 'shader-f16', which this adapter lacks/);
    expect(kiln.autocast('f16', () => 1, { enabled: false })).toBe(1);
    expect(() => stepPrecision({ precision: 'f16-mixed', precisionFallback: null })).toThrow(/precision: 'f16-mixed' needs the adapter feature 'shader-f16'.*precisionFallback: 'f32'/);
    const p = stepPrecision({ precision: 'f16-mixed', precisionFallback: 'f32' });
    expect([p.mode, p.scaler]).toEqual(['f32', null]);
  });

  it('refuses f16 models and module conversion, naming the model and the feature', async () => {
    expect(kiln.deviceInfo().features).not.toContain('shader-f16');
    const clip = await kiln.models.loadClipConfig('tiny');
    expect(() => new kiln.models.ClipModel(clip, { dtype: 'f16' })).toThrow(/ClipModel: dtype 'f16' needs the adapter feature 'shader-f16', which this adapter .* lacks; build the model in f32/);
    const ib = await kiln.models.loadImageBindConfig('tiny');
    expect(() => new kiln.models.ImageBindModel(ib, { dtype: 'f16' })).toThrow(/ImageBindModel: dtype 'f16' needs the adapter feature 'shader-f16'/);
    const linear = new kiln.nn.Linear(3, 2);
    expect(() => linear.half()).toThrow(/Linear\.to\('f16'\): dtype f16 needs the adapter feature 'shader-f16'/);
    expect(linear.weight.dtype).toBe('f32'); // nothing was converted
    // a meta model converts (no GPU memory), and loading real weights into it names the feature
    const meta = new kiln.nn.Linear(3, 2, { device: 'meta' }).half();
    expect(() => meta.loadStateDict(linear.stateDict(), { assign: true })).toThrow(/dtype f16 needs the adapter feature 'shader-f16'/);
    linear.dispose();
  });
});
