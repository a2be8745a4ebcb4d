// Hugging Face CLIPModel ↔ Kiln CLIP against tests/fixtures/gen_hf_clip.py (an independent PyTorch CLIP keyed
// on HF's names): both checkpoint files load strict and give HF's embeddings with ids padded by the end token;
// the export round-trips (names, bits, config, safetensors metadata format "pt"); bad configs are refused.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { fixtureTensor as get } from '../helpers/fixtures.js';

const DIR = new URL('../fixtures/hf_clip/', import.meta.url).pathname;
const hfConfig = (): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, 'tiny/config.json'), 'utf8')) as Record<string, unknown>;

async function checkOutputs(model: kiln.models.ClipModel): Promise<void> {
  const io = await kiln.io.loadSafetensors(join(DIR, 'tiny.io.safetensors'));
  model.eval();
  const img = model.encodeImage(get(io, 'input.images'));
  const txt = model.encodeText(get(io, 'input.ids'));
  expect(await img.data()).toBeAllClose(await get(io, 'output.image_embeds').data(), { rtol: 1e-4 });
  expect(await txt.data()).toBeAllClose(await get(io, 'output.text_embeds').data(), { rtol: 1e-4 });
  const out = model.forward(get(io, 'input.images'), get(io, 'input.ids'));
  const logits = out.imageFeatures.matmul(out.textFeatures.transpose(0, 1)).mul(out.logitScale);
  expect(await logits.data()).toBeAllClose(await get(io, 'output.logits_per_image').data(), { rtol: 1e-4 });
  for (const t of [img, txt, logits, out.imageFeatures, out.textFeatures, out.logitScale, ...io.values()]) t.dispose();
}

describe('HF CLIP', () => {
  it('loads config.json + model.safetensors and matches HF outputs (ids padded with the end token)', async () => {
    const model = await kiln.models.loadHfClip(join(DIR, 'tiny'));
    expect(model.config.vision.width).toBe(48);
    expect(model.config.embedDim).toBe(24);
    await checkOutputs(model);
    model.dispose();
  });

  it('loads pytorch_model.bin with the legacy int64 position_ids buffers', async () => {
    const model = await kiln.models.loadHfClip(join(DIR, 'tiny_bin'));
    await checkOutputs(model);
    model.dispose();
  });

  it('exports a directory CLIPModel.from_pretrained reads: same names, bits and config; format "pt"', async () => {
    const model = await kiln.models.loadHfClip(join(DIR, 'tiny'));
    const out = mkdtempSync(join(tmpdir(), 'kiln-hf-'));
    await kiln.models.saveHfClip(model, out);
    const header = await kiln.io.listSafetensors(join(out, 'model.safetensors'));
    expect(header.metadata).toEqual({ format: 'pt' });
    const want = await kiln.io.loadSafetensors(join(DIR, 'tiny/model.safetensors'));
    const got = await kiln.io.loadSafetensors(join(out, 'model.safetensors'));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, t] of want) {
      expect(got.get(k)!.shape, k).toEqual(t.shape);
      expect(Array.from(await got.get(k)!.data()), k).toEqual(Array.from(await t.data()));
    }
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as unknown;
    expect(kiln.models.clipConfigFromHf(cfg, 'x')).toEqual(kiln.models.clipConfigFromHf(hfConfig(), 'x'));
    const again = await kiln.models.loadHfClip(out);
    await checkOutputs(again);
    for (const t of [...want.values(), ...got.values()]) t.dispose();
    model.dispose();
    again.dispose();
  });

  it('maps the reference config and refuses what Kiln would compute differently', () => {
    const c = kiln.models.clipConfigFromHf(hfConfig(), 'tiny-hf');
    expect(c).toEqual({
      family: 'clip',
      name: 'tiny-hf',
      embedDim: 24,
      activation: 'quick_gelu',
      vision: { imageSize: 28, patchSize: 14, width: 48, layers: 2, heads: 3, mlpRatio: 4 },
      text: { contextLength: 8, vocabSize: 64, width: 32, layers: 2, heads: 2, mlpRatio: 4 },
    });
    const bad = (patch: (c: Record<string, Record<string, unknown>>) => void): unknown => {
      const c = hfConfig() as Record<string, Record<string, unknown>>;
      patch(c);
      return c;
    };
    expect(() => kiln.models.clipConfigFromHf(bad((c) => (c['text_config']!['layer_norm_eps'] = 1e-6)))).toThrow(/field 'text_config.layer_norm_eps' must be 0.00001/);
    expect(() => kiln.models.clipConfigFromHf(bad((c) => (c['text_config']!['eos_token_id'] = 5)))).toThrow(/'text_config.eos_token_id' must be the largest id 63/);
    expect(() => kiln.models.clipConfigFromHf(bad((c) => (c['vision_config']!['hidden_act'] = 'gelu')))).toThrow(/'vision_config.hidden_act' must equal/);
    expect(() => kiln.models.clipConfigFromHf({ model_type: 'siglip' })).toThrow(/'model_type' must be 'clip'/);
  });
});
