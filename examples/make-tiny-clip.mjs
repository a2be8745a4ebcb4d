// Writes the inputs of the README's LoRA walkthrough when the real CLIP ViT-B/32 weights are out of reach:
// a generated shapes caption set (OpenCLIP's CSV layout) and a tiny CLIP checkpoint in OpenCLIP's
// safetensors format (examples/configs/clip-tiny-text.json, sized for Kiln's default tokenizer).
// Run: npm run build && node examples/make-tiny-clip.mjs runs/tiny
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as kiln from 'kiln-gpu';

const dir = process.argv[2] ?? 'runs/tiny';
await kiln.init();
const captions = await kiln.train.makeCaptionSet(join(dir, 'shapes'), { count: 96, imageSize: 32 });
const config = kiln.models.clipConfig(JSON.parse(await readFile(new URL('./configs/clip-tiny-text.json', import.meta.url), 'utf8')));
kiln.manualSeed(7);
const clip = new kiln.models.ClipModel(config);
const weights = join(dir, 'clip-tiny.safetensors');
await kiln.io.saveSafetensors(weights, clip.stateDict(), { format: 'pt' });
console.log(`captions: ${captions}\nweights:  ${weights}`);
