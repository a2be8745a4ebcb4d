// Deferred initialisation and weight streaming: placeholders allocate nothing, f16 sources are cast to the
// model's dtype, and strict loading names unexpected, missing and wrongly-shaped keys.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { iterateSafetensors, loadSafetensors } from '../../src/io/safetensors.js';
import { modelFixture } from '../helpers/fixtures.js';

const fixture = modelFixture;

describe('deferred init and loadWeights', () => {
  it('streams f16 weights into a deferred f32 model', async () => {
    const config = await kiln.models.loadClipConfig('tiny');
    const model = new kiln.models.ClipModel(config, { deferInit: true });
    const f16 = kiln.deviceInfo().features.includes('shader-f16');
    const res = await model.loadWeights(iterateSafetensors(fixture('clip_tiny.weights.safetensors'), { dtype: f16 ? 'f16' : 'f32' }));
    expect(res.loaded.length).toBe(model.stateDict().size);
    for (const [name, t] of model.namedParameters()) {
      expect(t.dtype, name).toBe('f32');
      expect(t.requiresGrad, name).toBe(true);
    }
    const ref = await loadSafetensors(fixture('clip_tiny.weights.safetensors'));
    expect(await model.stateDict().get('visual.proj')!.data()).toBeAllClose(await ref.get('visual.proj')!.data(), { rtol: f16 ? 1e-3 : 0 });
    model.dispose();
    for (const t of ref.values()) t.dispose();
  });

  it('strict loading reports unexpected, missing and wrongly-shaped keys', async () => {
    const config = await kiln.models.loadClipConfig('tiny');
    const model = new kiln.models.ClipModel(config, { device: 'meta' });
    await expect(model.loadWeights([['nope', kiln.zeros([1])]])).rejects.toThrow(/unexpected key 'nope'/);
    await expect(model.loadWeights([['logit_scale', kiln.zeros([2])]])).rejects.toThrow(/size mismatch for 'logit_scale'.*\[2\] vs model \[\]/);
    await expect(model.loadWeights([['logit_scale', kiln.zeros([])]])).rejects.toThrow(/missing keys \(\d+\).*visual\.proj/);
    const lax = await model.loadWeights([['nope', kiln.zeros([1])]], { strict: false });
    expect(lax.unexpected).toEqual(['nope']);
    expect(lax.missing).toContain('visual.conv1.weight');
    expect(lax.missing).not.toContain('attn_mask'); // non-persistent, as in OpenCLIP
    model.dispose();
  });
});
