// The LoRA walkthrough's inputs for tests: the generated shapes caption set and a tiny CLIP checkpoint in
// OpenCLIP's safetensors format, of examples/configs/clip-tiny-text.json (the default tokenizer's vocabulary).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as kiln from '../../src/node.js';

/** Writes the walkthrough's inputs: the shapes caption set and a tiny CLIP checkpoint (OpenCLIP names). */
export async function tinyRecipeInputs(dir: string): Promise<{ captions: string; weights: string }> {
  const captions = await kiln.train.makeCaptionSet(join(dir, 'shapes'), { count: 96, imageSize: 32 });
  const json = JSON.parse(await readFile('examples/configs/clip-tiny-text.json', 'utf8')) as unknown;
  kiln.manualSeed(7);
  const clip = new kiln.models.ClipModel(kiln.models.clipConfig(json));
  const weights = join(dir, 'clip-tiny.safetensors');
  await kiln.io.saveSafetensors(weights, clip.stateDict(), { format: 'pt' });
  clip.dispose();
  return { captions, weights };
}
