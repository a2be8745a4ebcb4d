// Staged training through kiln.train.fit: ImageBind-style stage 1 (vision and text frozen, the new tower
// trains) then stage 2 (everything, a lower lr). Frozen towers do not move and log no gradient; the lr
// follows the stage; a tower unfrozen later starts its own AdamW step count at 1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { initialWeights } from '../helpers/train-weights.js';

describe('stages', () => {
  it('freezes towers and sets learning rates by stage; a tower unfrozen at step 2 has AdamW step 2 at step 4', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-stages-'));
    const cfg = {
      model: { kind: 'imagebind' as const, config: 'tiny' },
      pairs: [
        { a: 'vision', b: 'text' },
        { a: 'vision', b: 'audio' },
      ],
      data: { size: 8 },
      batchSize: 4,
      steps: 4,
      logEvery: 1,
      checkpointEvery: 2,
      keepLast: 10,
      optimizer: { lr: 1e-3 },
      schedule: { kind: 'constant' as const },
      stages: [
        { step: 0, frozen: ['vision', 'text'], lr: { default: 1e-2 } },
        { step: 2, lr: { default: 1e-3 } },
      ],
      out,
    };
    const w0 = await initialWeights(cfg);
    await kiln.train.fit(cfg);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as { lr: Record<string, number>; gradNorms: Record<string, number> });
    expect(rows.map((r) => r.lr['default'])).toEqual([1e-2, 1e-2, 1e-3, 1e-3]);
    expect(rows.map((r) => [r.gradNorms['vision'], r.gradNorms['text']].every((g) => g! > 0))).toEqual([false, false, true, true]);
    expect(rows.map((r) => r.gradNorms['audio']! > 0)).toEqual([true, true, true, true]);

    const weights = async (step: number, name: string): Promise<Float32Array> => {
      const sd = await kiln.io.loadSafetensors(join(out, `checkpoints/step-${step}/model.safetensors`));
      return (await sd.get(name)!.data()) as Float32Array;
    };
    const vision = 'modality_trunks.vision.blocks.0.attn.in_proj_weight';
    const audio = 'modality_trunks.audio.blocks.0.attn.in_proj_weight';
    expect(Array.from(await weights(2, vision))).toEqual(Array.from(w0.get(`model.safetensors:${vision}`)!));
    expect(Array.from(await weights(4, vision))).not.toEqual(Array.from(w0.get(`model.safetensors:${vision}`)!));
    expect(Array.from(await weights(2, audio))).not.toEqual(Array.from(w0.get(`model.safetensors:${audio}`)!));

    const ck = await kiln.train.readCheckpoint(join(out, 'checkpoints/step-4'));
    const stepOf = async (name: string): Promise<number> => {
      const i = ck.state.optimizer.names.indexOf(name);
      return ck.tensors['optimizer.safetensors'].get(`state.${i}.step`)!.item();
    };
    expect(await stepOf(vision)).toBe(2);
    expect(await stepOf(audio)).toBe(4);
    // Before its stage, a frozen tower has no optimizer state at all.
    const ck2 = await kiln.train.readCheckpoint(join(out, 'checkpoints/step-2'));
    expect(ck2.tensors['optimizer.safetensors'].has(`state.${ck2.state.optimizer.names.indexOf(vision)}.step`)).toBe(false);
    rmSync(out, { recursive: true, force: true });
  });

  it('refuses a stage that freezes an unknown tower', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-stages-'));
    await expect(kiln.train.fit({ model: { kind: 'clip', config: 'tiny' }, steps: 1, data: { size: 8 }, batchSize: 4, stages: [{ step: 0, frozen: ['vision'] }], out })).rejects.toThrow(
      /stages\[0\]\.frozen\[0\]: no tower 'vision' \(towers: .*image/,
    );
    rmSync(out, { recursive: true, force: true });
  });
});
