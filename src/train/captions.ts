// The image–caption dataset (data.kind 'image-caption'): OpenCLIP's CSV layout — a tab-separated file with
// a header naming the image-path and caption columns, paths relative to the file — preprocessed once at
// load (CLIP's resize, center crop and normalisation; the tokenizer) and kept on the CPU. Not a streaming
// reader: it holds every image as floats (3·S² × 4 bytes each), fine up to tens of thousands at 224².

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { data, text } from '../public.js';
import { ConfigError, type ImageCaptionDataSection } from './config.js';
import type { Dataset, InputSpec, Sample } from './dataset.js';

export interface ImageCaptionOptions {
  /** The tab-separated captions file. */
  readonly captions: string;
  /** Header names of the image-path and caption columns (OpenCLIP's --csv-img-key / --csv-caption-key). */
  readonly imageKey: string;
  readonly captionKey: string;
  /** A merges file (CLIP's bpe_simple_vocab_16e6.txt.gz for real CLIP weights); null = Kiln's default. */
  readonly tokenizer: string | null;
  /** The model's modality names and input layouts for the image and the text. */
  readonly image: { readonly name: string; readonly spec: InputSpec };
  readonly text: { readonly name: string; readonly spec: InputSpec };
}

/** One row of the captions file. */
export interface CaptionRow {
  readonly image: string;
  readonly caption: string;
}

/** Parses the captions file's text into rows (image paths resolved against `base`); errors name the line. */
export function parseCaptions(body: string, file: string, base: string, imageKey: string, captionKey: string): CaptionRow[] {
  const lines = body.split(/\r?\n/);
  const header = (lines[0] ?? '').split('\t');
  const ii = header.indexOf(imageKey);
  const ci = header.indexOf(captionKey);
  if (ii < 0 || ci < 0) throw new ConfigError(`data.captions: ${file} has no '${ii < 0 ? imageKey : captionKey}' column in its header (columns: ${header.join(', ')})`);
  const rows: CaptionRow[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const cells = line.split('\t');
    const image = cells[ii];
    const caption = cells[ci];
    if (image === undefined || caption === undefined || image === '') throw new ConfigError(`data.captions: ${file} line ${i + 2}: expected ${header.length} tab-separated cells, got ${cells.length}`);
    rows.push({ image: resolve(base, image), caption });
  });
  if (rows.length === 0) throw new ConfigError(`data.captions: ${file} lists no image–caption rows`);
  return rows;
}

/** Loads and preprocesses every row; a file that fails to decode is named with the reason. */
export async function loadImageCaptions(o: ImageCaptionOptions): Promise<Dataset> {
  let body: string;
  try {
    body = await readFile(o.captions, 'utf8');
  } catch (e) {
    throw new ConfigError(`data.captions: cannot read ${o.captions}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const rows = parseCaptions(body, o.captions, dirname(o.captions), o.imageKey, o.captionKey);
  const tok = o.tokenizer === null ? await text.defaultTokenizer() : await text.Tokenizer.fromMergesFile(o.tokenizer);
  const vocab = o.text.spec.vocab ?? Infinity;
  if (tok.eotTokenId >= vocab)
    throw new ConfigError(`data.tokenizer: its end token id ${tok.eotTokenId} is outside the model's vocabulary of ${vocab} (use the tokenizer the model was trained with)`);
  const contextLength = o.text.spec.shape[0]!;
  const size = o.image.spec.shape[1]!;
  const samples: Sample[] = [];
  for (const r of rows) {
    let pixels: Float32Array;
    try {
      const t = data.loadImage(await readFile(r.image), { name: r.image, size });
      pixels = Float32Array.from(await t.data());
      t.dispose();
    } catch (e) {
      throw new Error(`image-caption data: ${r.image}: ${e instanceof Error ? e.message : String(e)}`);
    }
    samples.push({ [o.image.name]: pixels, [o.text.name]: tok.encodeBatch(r.caption, contextLength) });
  }
  return {
    size: samples.length,
    inputs: { [o.image.name]: o.image.spec, [o.text.name]: o.text.spec },
    get: (i) => {
      const s = samples[i];
      if (!s) throw new Error(`image-caption data: index ${i} out of range [0, ${samples.length})`);
      return s;
    },
  };
}

/**
 * The training and held-out sets of a data section of kind 'image-caption' for a model with these inputs:
 * the last `heldOut` rows are held out (none when 0).
 */
export async function imageCaptionSplits(d: ImageCaptionDataSection, inputs: Readonly<Record<string, InputSpec>>): Promise<{ train: Dataset; heldOut: Dataset | null }> {
  const imageName = 'image' in inputs ? 'image' : 'vision';
  if (!inputs[imageName] || !inputs['text']) throw new ConfigError(`data.kind: 'image-caption' needs a model with an image and a text tower (it has ${Object.keys(inputs).join(', ')})`);
  const all = await loadImageCaptions({ ...d, image: { name: imageName, spec: inputs[imageName] }, text: { name: 'text', spec: inputs['text'] } });
  if (d.heldOut >= all.size) throw new ConfigError(`data.heldOut: expected fewer than the ${all.size} rows of ${d.captions}, got ${d.heldOut}`);
  const n = all.size - d.heldOut;
  const part = (start: number, size: number): Dataset => ({ size, inputs: all.inputs, get: (i, e) => all.get(start + i, e) });
  return { train: part(0, n), heldOut: d.heldOut > 0 ? part(n, d.heldOut) : null };
}
