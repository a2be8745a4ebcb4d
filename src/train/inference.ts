// Loading a trained model for inference from what the trainer writes: a LoRA export (the base model built
// from the adapter file's metadata, its weights loaded, the adapters merged in), a Kiln training checkpoint
// directory (state.json names the architecture), or a plain weights file with a model config.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { io } from '../public.js';
import * as models from '../models/index.js';
import * as lora from './lora.js';

export type InferenceModel = models.ClipModel | models.ImageBindModel;

export interface LoadForInferenceOptions {
  /**
   * The model config for a plain weights file: a JSON file, or `<family>_<size>` (clip_vit_b_32,
   * imagebind_huge, clip_tiny, …). A checkpoint directory or a LoRA export names its own.
   */
  readonly config?: string | null;
  /** For a LoRA export: the base weights, instead of the path stored in its metadata. */
  readonly baseWeights?: string | null;
  /** The parameters' dtype (default f32): 'f16' builds the model in f16 and casts weights as they stream in (half the memory). */
  readonly dtype?: 'f32' | 'f16';
}

export interface LoadedModel {
  readonly model: InferenceModel;
  readonly config: models.ModelConfig;
  /** What was loaded: 'lora-export', 'checkpoint' or 'weights'. */
  readonly kind: 'lora-export' | 'checkpoint' | 'weights';
}

/** A model of `config` (a parsed config object), allocated (non-persistent buffers such as masks are built, not loaded). */
function build(config: unknown, where: string, dtype: 'f32' | 'f16'): { model: InferenceModel; config: models.ModelConfig } {
  const family = (config as { family?: unknown } | null)?.family;
  if (family === 'clip') {
    const c = models.clipConfig(config);
    return { model: new models.ClipModel(c, { dtype }), config: c };
  }
  if (family === 'imagebind') {
    const c = models.imageBindConfig(config);
    return { model: new models.ImageBindModel(c, { dtype }), config: c };
  }
  throw new Error(`${where}: the model config's family must be 'clip' or 'imagebind', got ${JSON.stringify(family)}`);
}

async function readConfig(spec: string): Promise<unknown> {
  const named = /^(clip|imagebind)_(.+)$/.exec(spec);
  if (named && !spec.endsWith('.json')) {
    const [, family, size] = named;
    const sizes: readonly string[] = family === 'clip' ? models.CLIP_SIZES : models.IMAGEBIND_SIZES;
    if (!sizes.includes(size!)) throw new Error(`config: no ${family} size '${size}' (known: ${sizes.join(', ')})`);
    return family === 'clip' ? models.loadClipConfig(size as models.ClipSize) : models.loadImageBindConfig(size as models.ImageBindSize);
  }
  try {
    return JSON.parse(await readFile(spec, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`config: cannot read the model config ${spec}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const source = (file: string): models.WeightSource => (file.endsWith('.pth') || file.endsWith('.pt') ? io.iteratePth(file) : io.iterateSafetensors(file));

async function isLoraFile(file: string): Promise<boolean> {
  if (!file.endsWith('.safetensors')) return false;
  return lora.META_LORA in (await io.listSafetensors(file)).metadata;
}

/**
 * Loads a trained model in eval mode from a LoRA export (directory or adapter file), a Kiln checkpoint
 * directory, or a weights file (with `config`). LoRA adapters are merged into the base weights.
 * @example const { model } = await kiln.train.loadForInference('runs/clip-text-lora/export');
 */
export async function loadForInference(path: string, opts: LoadForInferenceOptions = {}): Promise<LoadedModel> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new Error(`checkpoint: no such file or directory: ${path}`);
  const has = async (f: string): Promise<boolean> => (await stat(join(path, f)).catch(() => null)) !== null;
  let loaded: LoadedModel;
  const dtype = opts.dtype ?? 'f32';
  if ((s.isDirectory() && (await has(lora.ADAPTER_FILE))) || (s.isFile() && (await isLoraFile(path)))) {
    const h = await lora.readHeader(path);
    const weights = opts.baseWeights ?? h.base.weights;
    if (weights === null) throw new Error(`checkpoint: ${path} names no base weights; pass the base model's weights file`);
    const { model, config } = build(opts.config ? await readConfig(opts.config) : h.base.config, path, dtype);
    await model.loadWeights(source(weights));
    await lora.load(model, path);
    lora.merge(model);
    loaded = { model, config, kind: 'lora-export' };
  } else if (s.isDirectory()) {
    if (!(await has('state.json')) || !(await has('model.safetensors'))) throw new Error(`checkpoint: ${path} is neither a LoRA export (${lora.ADAPTER_FILE}) nor a Kiln checkpoint (state.json, model.safetensors)`);
    const state = JSON.parse(await readFile(join(path, 'state.json'), 'utf8')) as { architecture?: unknown };
    const file = join(path, 'model.safetensors');
    if ((await io.listSafetensors(file)).tensors.some((t) => t.name.includes('.lora_A.')))
      throw new Error(`checkpoint: ${path} is a checkpoint of a LoRA run; load its export (<out>/export) instead`);
    const { model, config } = build(state.architecture, path, dtype);
    await model.loadWeights(source(file));
    loaded = { model, config, kind: 'checkpoint' };
  } else {
    if (!opts.config) throw new Error(`checkpoint: ${path} is a weights file: give its model config (a JSON file or e.g. clip_vit_b_32)`);
    const { model, config } = build(await readConfig(opts.config), path, dtype);
    await model.loadWeights(source(path));
    loaded = { model, config, kind: 'weights' };
  }
  loaded.model.eval();
  return loaded;
}
