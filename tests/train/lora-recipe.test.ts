// The CLIP text-side LoRA recipe end to end on a generated shapes caption set and a tiny CLIP checkpoint in
// OpenCLIP's safetensors format: examples/configs/clip-text-lora.yaml with the README's --set overrides,
// evaluation every epoch, the base untouched, the export loaded for inference.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { tinyRecipeInputs } from '../helpers/recipe.js';

describe('the CLIP text-side LoRA recipe', () => {
  it('trains 3 epochs with evaluation each epoch, changes only the adapters, exports them, and the export loads for inference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-recipe-'));
    const { captions, weights } = await tinyRecipeInputs(dir);
    expect((await kiln.text.defaultTokenizer()).vocabSize).toBe(4431); // the tiny config's vocabSize
    const out = join(dir, 'run');
    const evals: kiln.train.EvalRow[] = [];
    const summary = await kiln.train.fit('examples/configs/clip-text-lora.yaml', {
      sets: ['model.config=examples/configs/clip-tiny-text.json', `model.weights=${weights}`, `data.captions=${captions}`, 'data.tokenizer=null', `out=${out}`],
      callbacks: { onEval: (r) => void evals.push(r) },
    });
    // 96 rows − 32 held out = 64 → 2 steps per epoch at batch 32, 3 epochs.
    expect(summary.steps).toBe(6);
    expect(evals.map((e) => e.step)).toEqual([2, 4, 6]);
    expect(evals.every((e) => Number.isFinite(e.eval.loss))).toBe(true);
    expect(summary.exported).toBe(join(out, 'export'));

    // The base is untouched (frozen): every non-adapter tensor of the final checkpoint equals the start.
    const start = await kiln.io.loadSafetensors(weights);
    const end = await kiln.io.loadSafetensors(join(summary.checkpoint, 'model.safetensors'));
    for (const [k, t] of start) expect(Array.from(await end.get(k)!.data()), k).toEqual(Array.from(await t.data()));
    const adapted = [...end.keys()].filter((k) => k.includes('.lora_'));
    expect(adapted.length).toBe(2 * 6 * 2); // 6 targets × 2 blocks, A and B each
    expect(adapted.every((k) => k.startsWith('transformer.resblocks.'))).toBe(true);

    // The export: adapters only, with the base config and weights path; loaded and merged for inference it
    // embeds text as the trained (unmerged) model of the last checkpoint does.
    const header = await kiln.train.lora.readHeader(summary.exported!);
    expect(header.base.weights).toBe(weights);
    const { model, kind } = await kiln.train.loadForInference(summary.exported!);
    expect(kind).toBe('lora-export');
    const ref = new kiln.models.ClipModel(kiln.models.clipConfig(header.base.config));
    kiln.train.lora.apply(ref, header.spec, header.paths);
    ref.loadStateDict(end);
    ref.eval();
    const tok = await kiln.text.defaultTokenizer();
    const ids = tok.tokenize(['a red circle', 'a photo of a blue square'], 16);
    const clip = model as kiln.models.ClipModel;
    expect(await clip.encodeText(ids).data()).toBeAllClose(await ref.encodeText(ids).data(), { rtol: 1e-5 });
    for (const m of [clip, ref]) m.dispose();
    for (const t of [...start.values(), ...end.values(), ids]) t.dispose();
  });
});
