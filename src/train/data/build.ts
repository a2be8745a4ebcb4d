// From a file-backed data section to what fit() trains on: the manifest or shards read, the decode workers
// started, the streaming loader over the training part, and the held-out part (manifest kinds: the last
// `heldOut` records) decoded once, without augmentation, into an in-memory Dataset for evaluation.

import { extname } from 'node:path';
import { data, text } from '../../public.js';
import { ConfigError } from '../config.js';
import type { Dataset, InputSpec, Sample } from '../dataset.js';
import type { StreamDataSection } from './kinds.js';
import { type Manifest, type ManifestLayout, parseCocoManifest, parseCsvManifest, parseJsonlManifest, readManifest, scanFolders } from './manifest.js';
import { makeDecoder } from './pool.js';
import { type PrepareOptions, decodeFiles, prepare } from './prepare.js';
import { ManifestSource, type Source, TarSource } from './sources.js';
import { StreamLoader } from './stream.js';

/** A data section's modality name as the model calls it (OpenCLIP's 'image' is ImageBind's 'vision'). */
function modalityName(m: string, inputs: Readonly<Record<string, InputSpec>>, field: string): string {
  if (m in inputs) return m;
  const alias = m === 'image' ? 'vision' : m === 'vision' ? 'image' : null;
  if (alias && alias in inputs) return alias;
  throw new ConfigError(`${field}.${m}: the model has no modality '${m}' (it has ${Object.keys(inputs).join(', ')})`);
}

/** A name → column map keyed by the model's modality names, restricted to those the run uses (all present). */
function forModalities(map: Readonly<Record<string, string>>, inputs: Readonly<Record<string, InputSpec>>, used: readonly string[], field: string, require = true): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [m, v] of Object.entries(map)) {
    const name = modalityName(m, inputs, field);
    if (used.includes(name)) out[name] = v;
  }
  const absent = used.filter((m) => !(m in out));
  if (require && absent.length > 0) throw new ConfigError(`${field}: no entry for ${absent.join(', ')} (the pairs use ${used.join(', ')}; given: ${Object.keys(map).join(', ') || 'none'})`);
  return out;
}

async function manifestOf(d: Exclude<StreamDataSection, { kind: 'webdataset' }>, inputs: Readonly<Record<string, InputSpec>>, used: readonly string[]): Promise<Manifest> {
  const stop = d.onError === 'stop';
  if (d.kind === 'folders') return scanFolders(forModalities(d.dirs, inputs, used, 'data.dirs'), stop);
  const { body, root } = await readManifest(d.file);
  if (d.kind === 'coco') {
    const image = used.find((m) => m !== 'text');
    if (!image || used.length !== 2 || !used.includes('text')) throw new ConfigError(`data.kind: 'coco' pairs images with captions; the pairs use ${used.join(', ')}`);
    return parseCocoManifest(body, d.file, image, d.root ?? root, stop);
  }
  const defaults = d.kind === 'csv' ? { image: 'filepath', text: 'title' } : { image: 'image', text: 'caption' };
  const layout: ManifestLayout = {
    columns: forModalities(Object.keys(d.columns).length ? d.columns : defaults, inputs, used, 'data.columns'),
    times: forModalities(d.times, inputs, Object.keys(inputs), 'data.times', false),
    textModality: 'text',
    root: d.root ?? root,
    stop,
  };
  if (d.kind === 'jsonl') return parseJsonlManifest(body, d.file, layout);
  const sep = d.separator ?? (['.tsv', '.tab'].includes(extname(d.file).toLowerCase()) ? '\t' : ',');
  return parseCsvManifest(body, d.file, sep, layout);
}

/** The held-out records decoded inline without augmentation; unusable ones are left out. */
async function heldOutSet(source: Source, prep: PrepareOptions): Promise<Dataset> {
  const samples: Sample[] = [];
  for await (const s of source.samples(0, 0)) {
    const job = decodeFiles(prep, 0, s, await s.load());
    if ('problem' in job) continue;
    const r = data.decodeJob({ id: 0, files: job.files });
    const p = r.ok ? prepare(prep, 0, s, r.files) : null;
    if (!p || !('inputs' in p)) continue;
    const sample: Record<string, Float32Array | Int32Array> = {};
    for (const [m, v] of Object.entries(p.inputs)) {
      if (v instanceof Int32Array) sample[m] = v;
      else {
        sample[m] = Float32Array.from(await v.data());
        v.dispose();
      }
    }
    samples.push(sample);
  }
  return { size: samples.length, inputs: prep.inputs, get: (i) => samples[i]! };
}

/** The streaming loader and the held-out set of a file-backed data section. */
export async function streamData(d: StreamDataSection, o: { readonly seed: number; readonly batchSize: number; readonly inputs: Readonly<Record<string, InputSpec>>; readonly modalities: readonly string[] }): Promise<{ loader: StreamLoader; heldOut: Dataset | null; notes: readonly string[] }> {
  const inputs = Object.fromEntries(o.modalities.map((m) => [m, o.inputs[m]!]));
  const tokenizer = d.tokenizer === null ? await text.defaultTokenizer() : await text.Tokenizer.fromMergesFile(d.tokenizer);
  const vocab = inputs['text']?.vocab ?? Infinity;
  if (tokenizer.eotTokenId >= vocab) throw new ConfigError(`data.tokenizer: its end token id ${tokenizer.eotTokenId} is outside the model's vocabulary of ${vocab}`);
  const prep: PrepareOptions = { seed: o.seed, inputs, tokenizer, augment: d.augment, filters: d.filters };
  let source: Source;
  let heldOut: Dataset | null = null;
  let manifestSkips: Record<string, number> = {};
  let notes: readonly string[] = [];
  if (d.kind === 'webdataset') {
    if (d.heldOut > 0) throw new ConfigError(`data.heldOut: not supported for webdataset shards (got ${d.heldOut}); pass evalDataset to fit()`);
    const exts = forModalities(Object.keys(d.extensions).length ? d.extensions : { image: 'png;jpg;jpeg', text: 'txt' }, inputs, o.modalities, 'data.extensions');
    const counts = await TarSource.count(d.shards, d.maxMemberBytes);
    const extensions = Object.fromEntries(Object.entries(exts).map(([m, e]) => [m, e.split(';').map((x) => x.trim().toLowerCase().replace(/^\./, ''))]));
    source = new TarSource(d.shards, counts, { seed: o.seed, shuffle: d.shuffle, buffer: d.shuffleBuffer, maxMemberBytes: d.maxMemberBytes, extensions });
  } else {
    const man = await manifestOf(d, o.inputs, o.modalities);
    if (d.heldOut >= man.records.length) throw new ConfigError(`data.heldOut: expected fewer than the ${man.records.length} usable records, got ${d.heldOut}`);
    const n = man.records.length - d.heldOut;
    source = new ManifestSource(man.records.slice(0, n), o.seed, d.shuffle);
    if (d.heldOut > 0) heldOut = await heldOutSet(new ManifestSource(man.records.slice(n), o.seed, false), { ...prep, augment: null });
    manifestSkips = man.skipped;
    notes = man.notes;
  }
  const decoder = await makeDecoder(d.workers);
  const loader = new StreamLoader(source, decoder, prep, { batchSize: o.batchSize, modalities: o.modalities, onError: d.onError, manifestSkips });
  return { loader, heldOut, notes };
}
