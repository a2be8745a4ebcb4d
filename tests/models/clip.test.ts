// Tiny CLIP against an independent PyTorch implementation (tests/fixtures/gen_models.py): weights streamed
// in by OpenCLIP name into a deferred model (strict), forward features, the InfoNCE loss and every gradient.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { iterateSafetensors, loadSafetensors } from '../../src/io/safetensors.js';
import { fixtureTensor, modelFixture } from '../helpers/fixtures.js';

const fixture = modelFixture;
const get = fixtureTensor;

describe('CLIP tiny vs PyTorch', () => {
  it('forward features, InfoNCE loss and all parameter gradients agree', async () => {
    const model = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'), { device: 'meta' });
    const res = await model.loadWeights(iterateSafetensors(fixture('clip_tiny.weights.safetensors')));
    expect(res.missing).toEqual([]);
    model.eval();
    const io = await loadSafetensors(fixture('clip_tiny.io.safetensors'));
    const img = model.encodeImage(get(io, 'input.images'));
    const txt = model.encodeText(get(io, 'input.ids'));
    expect(await img.data()).toBeAllClose(await get(io, 'output.image').data(), { rtol: 1e-4 });
    expect(await txt.data()).toBeAllClose(await get(io, 'output.text').data(), { rtol: 1e-4 });
    const out = model.forward(get(io, 'input.images'), get(io, 'input.ids'));
    const loss = kiln.F.infoNCE(out.imageFeatures, out.textFeatures, out.logitScale);
    expect(await loss.data()).toBeAllClose(await get(io, 'loss').data(), { rtol: 1e-4 });
    loss.backward();
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(await p.grad!.data(), name).toBeAllClose(await get(io, `grad.${name}`).data(), { rtol: 1e-3 });
    }
    model.dispose();
    for (const t of io.values()) t.dispose();
  });
});
