// `kiln embed`: a LoRA export loaded and merged, images to .npy and texts to .jsonl in the order given and
// batched, equal to the model's own embeddings; plain progress lines off a TTY; corrupt and missing inputs
// reported by name with nothing written; usage errors.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPrecision } from '../../src/cli/embed.js';
import { runCli } from '../../src/cli/main.js';
import * as kiln from '../../src/node.js';
import { minRowCosine } from '../helpers/cosine.js';
import { tinyRecipeInputs } from '../helpers/recipe.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

function captureIo(): { io: { out: (l: string) => void; err: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => void out.push(l), err: (l) => void err.push(l) }, out, err };
}

/** A LoRA export of the tiny CLIP with non-zero B (as after training). */
async function makeExport(dir: string, weights: string): Promise<string> {
  const clip = new kiln.models.ClipModel(kiln.models.clipConfig(JSON.parse(readFileSync('examples/configs/clip-tiny-text.json', 'utf8'))));
  await clip.loadWeights(kiln.io.iterateSafetensors(weights));
  const info = kiln.train.lora.apply(clip, { rank: 2, targets: ['attn.q_proj', 'mlp.c_fc'] });
  let seed = TEST_SEED;
  kiln.noGrad(() => {
    for (const [n, t] of info.params) if (n.includes('lora_B')) t.copy_(kiln.tensor(Float32Array.from(randomArray(t.numel(), seed++, 0.1)), { shape: t.shape }));
  });
  const out = join(dir, 'export');
  (await import('node:fs')).mkdirSync(out, { recursive: true });
  await kiln.train.lora.save(clip, join(out, 'adapter.safetensors'), { baseWeights: weights });
  clip.dispose();
  return out;
}

describe('kiln embed', () => {
  it('embeds images (.npy) and texts (.jsonl) from a LoRA export, one row per input in order, batched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-embed-'));
    const { captions, weights } = await tinyRecipeInputs(dir);
    const exp = await makeExport(dir, weights);
    const images = [7, 2, 5].map((i) => join(dir, 'shapes', 'images', `${String(i).padStart(4, '0')}.png`));
    const texts = ['a red circle', 'a photo of a blue square', 'a small green stripe'].map((t, i) => {
      const f = join(dir, `t${i}.txt`);
      writeFileSync(f, `${t}\n`);
      return f;
    });
    expect(existsSync(captions)).toBe(true);

    const cap = captureIo();
    const npy = join(dir, 'img.npy');
    expect(await runCli(['embed', '--checkpoint', exp, '--modality', 'image', '--batch-size', '2', '--out', npy, ...images], cap.io), cap.err.join('\n')).toBe(0);
    expect(cap.out[0]).toMatch(/^embedded 2\/3 inputs, \S+\/s, ETA \d+ s$/); // plain lines off a TTY, one per batch
    expect(cap.out.at(-2)).toMatch(/^embedded 3\/3 inputs/);
    const arr = kiln.data.readNpy(readFileSync(npy), npy); // a Node Buffer, as users pass it
    expect(arr.shape).toEqual([3, 32]);

    const cap2 = captureIo();
    const jsonl = join(dir, 'txt.jsonl');
    expect(await runCli(['embed', '--checkpoint', exp, '--modality', 'text', '--out', jsonl, ...texts], cap2.io), cap2.err.join('\n')).toBe(0);
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file: string; embedding: number[] });
    expect(lines.map((l) => l.file)).toEqual(texts);

    // The same numbers as the merged model embedding each input alone.
    const { model } = await kiln.train.loadForInference(exp);
    const clip = model as kiln.models.ClipModel;
    for (const [i, f] of images.entries()) {
      const x = kiln.data.loadImage(readFileSync(f), { size: 32 }).unsqueeze(0);
      expect(arr.data.subarray(i * 32, (i + 1) * 32)).toBeAllClose(await clip.encodeImage(x, { normalize: true }).data(), { rtol: 1e-5 });
    }
    const tok = await kiln.text.defaultTokenizer();
    for (const [i, t] of ['a red circle', 'a photo of a blue square', 'a small green stripe'].entries())
      expect(lines[i]!.embedding).toBeAllClose(await clip.encodeText(tok.tokenize(t, 16), { normalize: true }).data(), { rtol: 1e-5 });
    clip.dispose();
  });

  it('reports every corrupt or missing input by name and writes nothing; usage errors exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-embed-bad-'));
    const { weights } = await tinyRecipeInputs(dir);
    const good = join(dir, 'shapes', 'images', '0000.png');
    const corrupt = join(dir, 'corrupt.png');
    writeFileSync(corrupt, readFileSync(good).subarray(0, 40));
    const missing = join(dir, 'missing.png');
    const out = join(dir, 'e.npy');
    const cap = captureIo();
    const rc = await runCli(['embed', '--checkpoint', weights, '--config', 'examples/configs/clip-tiny-text.json', '--modality', 'image', '--out', out, good, corrupt, missing], cap.io);
    expect(rc).toBe(1);
    expect(cap.err.some((l) => l.includes(`cannot read ${corrupt}:`))).toBe(true);
    expect(cap.err.some((l) => l.includes(`cannot read ${missing}:`))).toBe(true);
    expect(cap.err.at(-1)).toMatch(/2 of 3 inputs could not be read; nothing written/);
    expect(existsSync(out)).toBe(false);

    for (const [args, msg] of [
      [['--checkpoint', weights, '--modality', 'image', good], /--out is required/],
      [['--checkpoint', weights, '--modality', 'image', '--out', 'e.txt', good], /--out: expected a \.npy or \.jsonl file/],
      [['--checkpoint', weights, '--modality', 'image', '--out', out], /no input files given/],
      [['--checkpoint', weights, '--config', 'examples/configs/clip-tiny-text.json', '--modality', 'audio', '--out', out, good], /--modality: CLIP has image and text, got "audio"/],
    ] as const) {
      const c = captureIo();
      expect(await runCli(['embed', ...args], c.io)).toBe(2);
      expect(c.err.join('\n')).toMatch(msg);
    }
  });
});

describe('kiln embed --precision', () => {
  it('int8 and f16 embed the same files as f32 within a stated cosine; bad values and a missing shader-f16 are named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-embed-precision-'));
    const { weights } = await tinyRecipeInputs(dir);
    const images = [1, 4, 6].map((i) => join(dir, 'shapes', 'images', `${String(i).padStart(4, '0')}.png`));
    const embedAt = async (precision: string): Promise<Float32Array> => {
      const out = join(dir, `${precision}.npy`);
      const cap = captureIo();
      const args = ['embed', '--checkpoint', weights, '--config', 'examples/configs/clip-tiny-text.json', '--modality', 'image', '--precision', precision, '--out', out, ...images];
      expect(await runCli(args, cap.io), cap.err.join('\n')).toBe(0);
      const arr = kiln.data.readNpy(readFileSync(out), out);
      expect(arr.shape).toEqual([3, 32]);
      return arr.data as Float32Array;
    };
    const f32 = await embedAt('f32');
    expect(minRowCosine(f32, await embedAt('int8'), 32)).toBeGreaterThan(0.999);
    if (kiln.deviceInfo().features.includes('shader-f16')) expect(minRowCosine(f32, await embedAt('f16'), 32)).toBeGreaterThan(0.999);

    const c = captureIo();
    expect(await runCli(['embed', '--checkpoint', weights, '--modality', 'image', '--precision', 'bf16', '--out', join(dir, 'x.npy'), images[0]!], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--precision: expected f32, f16 or int8, got "bf16"/);
    const noF16 = { features: ['timestamp-query'], description: 'a test adapter', vendor: '' };
    expect(() => checkPrecision('f16', noF16)).toThrow(/--precision f16 needs the adapter feature 'shader-f16', which this adapter \(a test adapter\) lacks; run with --precision f32/);
    expect(() => checkPrecision('f32', noF16)).not.toThrow();
    expect(() => checkPrecision('int8', noF16)).not.toThrow();
  });
});
