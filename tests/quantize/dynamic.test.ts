// kiln.quantize.dynamic on models with loaded (not random) weights — the parity fixtures' tiny CLIP and
// ImageBind: embeddings within cosine 0.999 of f32, out_proj left in f32, the per-layer memory table,
// layer selection by class, path and RegExp, bad selectors, and backward refused.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { iterateSafetensors, loadSafetensors } from '../../src/io/safetensors.js';
import { minRowCosine } from '../helpers/cosine.js';
import { fixtureTensor, modelFixture } from '../helpers/fixtures.js';

async function clip(): Promise<kiln.models.ClipModel> {
  const m = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'), { device: 'meta' });
  await m.loadWeights(iterateSafetensors(modelFixture('clip_tiny.weights.safetensors')));
  return m.eval();
}

const linears = (m: kiln.nn.Module): string[] => [...m.namedModules()].filter(([, x]) => x instanceof kiln.nn.Linear).map(([n]) => n);

describe('quantize.dynamic', () => {
  it('tiny CLIP with loaded weights: image and text embeddings within cosine 0.999 of f32; out_proj stays f32', async () => {
    const io = await loadSafetensors(modelFixture('clip_tiny.io.safetensors'));
    const [images, ids] = [fixtureTensor(io, 'input.images'), fixtureTensor(io, 'input.ids')];
    const model = await clip();
    const before = linears(model);
    const f32 = kiln.noGrad(() => [model.encodeImage(images), model.encodeText(ids)]);
    expect(kiln.quantize.dynamic(model)).toBe(model);
    const after = linears(model);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((n) => n.endsWith('attn.out_proj'))).toBe(true); // attention projections stay f32
    const report = kiln.quantize.memoryReport(model);
    expect(report.map((r) => r.name)).toEqual(before.filter((n) => !after.includes(n)));
    for (const r of report) {
      const q = model.getSubmodule(r.name) as kiln.quantize.QuantizedLinear;
      expect(q).toBeInstanceOf(kiln.quantize.QuantizedLinear);
      const bias = q.bias === null ? 0 : 4 * r.outFeatures;
      expect(r.f32Bytes).toBe(4 * r.inFeatures * r.outFeatures + bias);
      expect(r.int8Bytes).toBe(4 * Math.ceil(r.inFeatures / 4) * r.outFeatures + 4 * r.outFeatures + bias);
      expect(r.int8Bytes).toBeLessThan(r.f32Bytes / 2);
    }
    const int8 = kiln.noGrad(() => [model.encodeImage(images), model.encodeText(ids)]);
    for (const [i, t] of f32.entries()) {
      const E = t.shape[1]!;
      expect(minRowCosine(await t.data(), await int8[i]!.data(), E)).toBeGreaterThan(0.999);
    }
    // Inference only: a backward through the quantised model refuses, naming a quantised layer.
    const y = model.encodeImage(images);
    expect(() => y.sum().backward()).toThrow(/is an int8 dynamically quantised Linear, which is inference only/);
    model.dispose();
    for (const t of io.values()) t.dispose();
  });

  it('tiny ImageBind with loaded weights: every modality within cosine 0.999 of f32', async () => {
    const model = new kiln.models.ImageBindModel(await kiln.models.loadImageBindConfig('tiny'), { deferInit: true });
    await model.loadWeights(iterateSafetensors(modelFixture('imagebind_tiny.weights.safetensors')));
    model.eval();
    const io = await loadSafetensors(modelFixture('imagebind_tiny.io.safetensors'));
    const inputs = Object.fromEntries(kiln.models.MODALITIES.map((m) => [m, fixtureTensor(io, `input.${m}`)]));
    const f32 = kiln.noGrad(() => model.forward(inputs));
    kiln.quantize.dynamic(model, { layers: [kiln.nn.Linear] });
    expect(kiln.quantize.memoryReport(model).length).toBeGreaterThan(0);
    const int8 = kiln.noGrad(() => model.forward(inputs));
    for (const m of kiln.models.MODALITIES) {
      const a = f32[m]!;
      expect(minRowCosine(await a.data(), await int8[m]!.data(), a.shape[1]!), m).toBeGreaterThan(0.999);
    }
    model.dispose();
    for (const t of io.values()) t.dispose();
  });

  it('selects layers by class, dotted path and RegExp; refuses bad selectors', async () => {
    const model = await clip();
    const all = linears(model);
    kiln.quantize.dynamic(model, { layers: ['visual', /^transformer\.resblocks\.0\.mlp\.c_fc$/], dotProduct: 'unpacked' });
    const names = kiln.quantize.memoryReport(model).map((r) => r.name);
    expect(names.length).toBeGreaterThan(1);
    expect(names.every((n) => n.startsWith('visual.') || n === 'transformer.resblocks.0.mlp.c_fc')).toBe(true);
    expect(names).toContain('transformer.resblocks.0.mlp.c_fc');
    expect(names.length).toBe(all.filter((n) => (n.startsWith('visual.') && !n.endsWith('out_proj')) || n === 'transformer.resblocks.0.mlp.c_fc').length);
    expect((model.getSubmodule(names[0]!) as kiln.quantize.QuantizedLinear).dotProduct).toBe('unpacked');
    expect(() => kiln.quantize.dynamic(model, { layers: [] })).toThrow(/layers must list at least one/);
    expect(() => kiln.quantize.dynamic(model, { layers: ['visual.nope'] })).toThrow(/has no submodule 'nope'/);
    expect(() => kiln.quantize.dynamic(model, { layers: [kiln.nn.LayerNorm] })).toThrow(/only nn\.Linear .* got the class LayerNorm/);
    model.dispose();
  });
});
