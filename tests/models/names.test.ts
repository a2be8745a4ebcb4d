// Kiln's ImageBind huge and CLIP ViT-B/32, built deferred (no weights allocated), have exactly upstream's
// state-dict names and shapes (the lists in src/models/names were dumped from the upstream definitions).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const names = (file: string): Record<string, number[]> => JSON.parse(readFileSync(new URL(`../../src/models/names/${file}`, import.meta.url), 'utf8')) as Record<string, number[]>;
const sorted = (sd: Map<string, kiln.Tensor>): [string, number[]][] => [...sd].map(([k, t]): [string, number[]] => [k, [...t.shape]]).sort(([a], [b]) => (a < b ? -1 : 1));
const expected = (r: Record<string, number[]>): [string, number[]][] => Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1));

describe('upstream state-dict names', () => {
  it('ImageBind huge (deferred) matches imagebind_huge', async () => {
    const before = kiln.memory().liveBytes;
    const model = new kiln.models.ImageBindModel(await kiln.models.loadImageBindConfig('huge'), { device: 'meta' });
    expect(kiln.memory().liveBytes - before).toBeLessThan(1 << 20); // 1.2 B parameters, nothing allocated but the small masks
    expect(sorted(model.stateDict())).toEqual(expected(names('imagebind_huge.json')));
    model.dispose();
  });

  it('CLIP ViT-B/32 (deferred) matches OpenCLIP ViT-B-32', async () => {
    const model = new kiln.models.ClipModel(await kiln.models.loadClipConfig('vit_b_32'), { deferInit: true });
    expect(sorted(model.stateDict())).toEqual(expected(names('clip_vit_b_32.json')));
    model.dispose();
  });

  it('every shipped config validates; a bad field is named', async () => {
    for (const s of kiln.models.IMAGEBIND_SIZES) await kiln.models.loadImageBindConfig(s);
    for (const s of kiln.models.CLIP_SIZES) await kiln.models.loadClipConfig(s);
    const tiny = await kiln.models.loadClipConfig('tiny');
    expect(() => kiln.models.clipConfig({ ...tiny, vision: { ...tiny.vision, heads: 3 } })).toThrow(/vision\.heads/);
    expect(() => kiln.models.clipConfig({ ...tiny, activation: 'relu' })).toThrow(/'activation'/);
    expect(() => kiln.models.clipConfig({ ...tiny, extra: 1 })).toThrow(/'extra' is not a known field/);
    await expect(kiln.models.loadImageBindConfig('tiny', { text: { numBlocks: 0 } })).rejects.toThrow(/text\.numBlocks/);
  });

  it('LayerScale per trunk overrides the model-wide setting (the trainer per-modality override)', async () => {
    const cfg = await kiln.models.loadImageBindConfig('tiny', { audio: { layerScale: { type: 'scalar', init: 0.25 } } });
    const model = new kiln.models.ImageBindModel(cfg, { device: 'meta' });
    const names = [...model.stateDict().keys()].filter((k) => k.includes('layer_scale_gamma'));
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((k) => k.startsWith('modality_trunks.audio.'))).toBe(true);
    expect(model.getParameter('layer_scale_gamma1')).toBeNull();
    expect(model.stateDict().get('modality_trunks.audio.blocks.0.layer_scale_gamma1')!.shape).toEqual([1, 1, 1]);
    await expect(kiln.models.loadImageBindConfig('tiny', { audio: { layerScale: { type: 'row', init: 1 } } })).rejects.toThrow(/audio\.layerScale\.type/);
    const train = await kiln.train.resolveConfig({ steps: 1, model: { kind: 'imagebind', config: 'tiny', modalities: { audio: { layerScale: { type: 'per_channel', init: 1e-4 } } } } });
    expect(train.model.modalities['audio']!.layerScale).toEqual({ type: 'per_channel', init: 1e-4 });
    await expect(kiln.train.resolveConfig({ steps: 1, model: { kind: 'imagebind', config: 'tiny', modalities: { audio: { layerScale: { type: 'x' as 'scalar', init: 1 } } } } })).rejects.toThrow(/model\.modalities\.audio\.layerScale\.type/);
    model.dispose();
  });
});
