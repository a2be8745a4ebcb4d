// Tower locks: OpenCLIP's groups (stem, blocks, last block + final LayerNorm, projection) for CLIP and
// ImageBind towers, the last N left trainable, LayerNorms optionally left trainable in the locked part; a
// locked tower does not move in training; and a frozen tower keeps no activations for backward.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { build, initialWeights } from '../helpers/train-weights.js';

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('tower locks', () => {
  it("groups a tower as OpenCLIP's lock does and unlocks the last N groups (CLIP image, ImageBind text)", async () => {
    const { model, named } = await build({ model: { kind: 'clip', config: 'tiny' } });
    const image = named.map(([n]) => n).filter((n) => n.startsWith('visual.'));
    const block = (i: number): string[] => image.filter((n) => n.startsWith(`visual.transformer.resblocks.${i}.`));
    const groups = kiln.train.lockGroups('clip', image);
    expect(groups.map(sorted)).toEqual([
      sorted(['visual.conv1.weight', 'visual.class_embedding', 'visual.positional_embedding', 'visual.ln_pre.weight', 'visual.ln_pre.bias']),
      sorted(block(0)),
      sorted([...block(1), 'visual.ln_post.weight', 'visual.ln_post.bias']),
      ['visual.proj'],
    ]);
    const lock = (unlockedGroups: number, freezeLayerNorm = true): string[] => sorted([...kiln.train.lockedNames('clip', model, named, { image: { unlockedGroups, freezeLayerNorm } })]);
    expect(lock(0)).toEqual(sorted(image));
    expect(lock(1)).toEqual(sorted(image.filter((n) => n !== 'visual.proj')));
    expect(lock(2)).toEqual(sorted([...groups[0]!, ...groups[1]!]));
    // freezeLayerNorm false: the LayerNorms of the locked part (ln_pre, block 0's ln_1 and ln_2) stay trainable.
    const ln = kiln.train.layerNormParams(model.module);
    expect(lock(2, false)).toEqual(sorted([...groups[0]!, ...groups[1]!].filter((n) => !ln.has(n))));
    expect(ln.has('visual.transformer.resblocks.0.ln_1.weight') && !ln.has('visual.proj')).toBe(true);
    expect(() => kiln.train.lockedNames('clip', model, named, { image: { unlockedGroups: 5, freezeLayerNorm: true } })).toThrow(/lock\.image\.unlockedGroups: the tower has 4 groups .*got 5/);
    expect(() => kiln.train.lockedNames('clip', model, named, { vision: { unlockedGroups: 0, freezeLayerNorm: true } })).toThrow(/lock\.vision: no such tower \(towers: .*image/);
    model.module.dispose();

    const ib = await build({ model: { kind: 'imagebind', config: 'tiny' } });
    const text = ib.named.map(([n]) => n).filter((n) => ib.model.towerOf(n) === 'text');
    const g = kiln.train.lockGroups('imagebind', text);
    expect(g.length).toBe(4); // stem, block 0, [block 1, head LN], [head Linear, learnable scale]
    expect(g[0]!.every((n) => n.startsWith('modality_preprocessors.text.'))).toBe(true);
    expect(g[1]!.every((n) => n.startsWith('modality_trunks.text.blocks.0.'))).toBe(true);
    expect(sorted(g[2]!.filter((n) => !n.startsWith('modality_trunks.text.blocks.1.')))).toEqual(['modality_heads.text.proj.0.bias', 'modality_heads.text.proj.0.weight']);
    expect(sorted(g[3]!)).toEqual(['modality_heads.text.proj.1.weight', 'modality_postprocessors.text.1.log_logit_scale']);
    ib.model.module.dispose();
  });

  it('a locked tower does not move; its unlocked groups do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-lock-'));
    const cfg = { model: { kind: 'clip' as const, config: 'tiny' }, data: { size: 8 }, batchSize: 4, steps: 2, optimizer: { lr: 1e-2 }, lock: { image: { unlockedGroups: 1 } }, out: dir };
    const w0 = await initialWeights(cfg);
    await kiln.train.fit(cfg);
    const sd = await kiln.io.loadSafetensors(join(dir, 'checkpoints/step-2/model.safetensors'));
    for (const [k, t] of sd) {
      const before = w0.get(`model.safetensors:${k}`);
      if (!before || !before.every(Number.isFinite)) continue;
      const same = Array.from((await t.data()) as Float32Array).every((v, i) => v === before[i]);
      expect(same, k).toBe(k.startsWith('visual.') && k !== 'visual.proj');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a frozen vision tower keeps no activations for backward: less held after forward, lower peak in a step', async () => {
    const { model, loss, named } = await build({ model: { kind: 'clip', config: 'tiny' } });
    const B = 32;
    const images = kiln.randn([B, 3, 28, 28]);
    const ids = kiln.tensor(Int32Array.from({ length: B * 8 }, (_, i) => (i * 7) % 63), { shape: [B, 8] });
    const measure = async (): Promise<{ held: number; peak: number }> => {
      await kiln.flush();
      const base = kiln.memory().liveBytes;
      kiln.resetPeakMemory();
      let held = 0;
      kiln.tidy(() => {
        const img = model.embed('image', images); // [B, E]
        held = kiln.memory().liveBytes - base - img.numel() * 4; // what the image graph keeps beyond its output
        loss.forward({ image: img, text: model.embed('text', ids) }).total.backward();
      });
      await kiln.flush();
      for (const [, p] of named) {
        p.grad?.dispose();
        p.grad = null;
      }
      return { held, peak: kiln.memory().peakBytes };
    };
    await measure(); // warm-up: kernels compiled, pool filled
    const trainable = await measure();
    model.module.getSubmodule('visual').requiresGrad_(false);
    const frozen = await measure();
    expect(frozen.held).toBe(0);
    expect(trainable.held).toBeGreaterThan(B * 5 * 32 * 4 * 4); // several [B, 5, 32] activations per block
    expect(frozen.peak).toBeLessThan(trainable.peak);
    images.dispose();
    ids.dispose();
    model.module.dispose();
  });
});
