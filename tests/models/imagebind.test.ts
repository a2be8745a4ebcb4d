// Tiny ImageBind (all six modalities) against an independent PyTorch implementation
// (tests/fixtures/gen_models.py): weights streamed in by upstream name into a deferred model (strict),
// embeddings per modality (audio as 2 clips, averaged), the image-anchored InfoNCE loss and every gradient.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { iterateSafetensors, loadSafetensors } from '../../src/io/safetensors.js';
import { fixtureTensor, modelFixture } from '../helpers/fixtures.js';

const fixture = modelFixture;
const get = fixtureTensor;

describe('ImageBind tiny vs PyTorch', () => {
  it('embeddings of every modality, the loss and all parameter gradients agree', async () => {
    const model = new kiln.models.ImageBindModel(await kiln.models.loadImageBindConfig('tiny'), { deferInit: true });
    const res = await model.loadWeights(iterateSafetensors(fixture('imagebind_tiny.weights.safetensors')));
    expect(res.missing).toEqual([]);
    model.eval();
    const io = await loadSafetensors(fixture('imagebind_tiny.io.safetensors'));
    const inputs = Object.fromEntries(kiln.models.MODALITIES.map((m) => [m, get(io, `input.${m}`)]));
    const out = model.forward(inputs);
    for (const m of kiln.models.MODALITIES) expect(await out[m]!.data(), m).toBeAllClose(await get(io, `output.${m}`).data(), { rtol: 1e-4 });
    const one = kiln.tensor([1]);
    const terms = (['text', 'audio', 'depth', 'thermal', 'imu'] as const).map((m) => kiln.F.infoNCE(out.vision!, out[m]!, one));
    const loss = terms.slice(1).reduce((a, b) => a.add(b), terms[0]!);
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
