// The trainer's view of a model: ImageBind or CLIP built from a named config or a file with the per-modality
// overrides, its input layout, unit-norm embeddings per modality, each pair's temperature (never the
// product of two modalities' scales), the per-tower split of parameters, and the post-step logit clamp.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Tensor, F, io, nn, noGrad } from '../public.js';
import * as models from '../models/index.js';
import { ConfigError, type ModelSection, type PairSpec, type TrainConfig } from './config.js';
import type { InputSpec } from './dataset.js';

/** A built model as the loop sees it. */
export interface TrainModel {
  readonly module: nn.Module;
  /** The resolved architecture (a checkpoint of another one is refused). */
  readonly architecture: models.ModelConfig;
  readonly inputs: Readonly<Record<string, InputSpec>>;
  /** Pairs trained when the config lists none: CLIP image–text; ImageBind every modality with vision. */
  readonly defaultPairs: readonly PairSpec[];
  /** Trainable tensors outside the model's parameters (a fixed scale made learnable), by upstream name. */
  readonly extraParams: ReadonlyMap<string, Tensor>;
  /** Unit-norm embeddings [B, E] of modality `m`. */
  embed(m: string, x: Tensor): Tensor;
  /** The multiplier of the pair's cosine logits, a 0-d tensor (connected to the graph when learnable). */
  temperature(a: string, b: string): Tensor;
  /** The tower a parameter belongs to, for per-tower gradient norms. */
  towerOf(name: string): string;
  /** After each optimizer step: CLIP clamps logit_scale to [0, ln 100] in place (no readback). */
  afterStep(): void;
  /** Before saving: learned values of extraParams are copied into the model's buffers of the same name. */
  syncBuffers(): void;
}

const LN_100 = Math.log(100);
/** ImageBind's LearnableLogitScaling clips exp(s) at 100 in the forward. */
const IMAGEBIND_MAX_SCALE = 100;

async function readJsonFile(file: string, field: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    throw new ConfigError(`${field}: cannot read the model config file ${JSON.stringify(file)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Builds the model the config names, with random init (weights are loaded by the caller). */
export async function buildModel(cfg: TrainConfig): Promise<TrainModel> {
  return cfg.model.kind === 'clip' ? buildClip(cfg) : buildImageBind(cfg);
}

function checkModalities(m: ModelSection, known: readonly string[]): void {
  for (const name of Object.keys(m.modalities))
    if (!known.includes(name)) throw new ConfigError(`model.modalities.${name}: unknown modality for ${m.kind} (known: ${known.join(', ')})`);
}

function named(module: nn.Module, name: string): { tensor: Tensor; param: boolean } {
  for (const [n, t] of module.namedParameters()) if (n === name) return { tensor: t, param: true };
  for (const [n, t] of module.namedBuffers()) if (n === name) return { tensor: t, param: false };
  throw new Error(`train: the model has no tensor '${name}'`);
}

async function buildClip(cfg: TrainConfig): Promise<TrainModel> {
  const m = cfg.model;
  checkModalities(m, ['image', 'text']);
  for (const [name, o] of Object.entries(m.modalities)) {
    if (o.dropPath !== null) throw new ConfigError(`model.modalities.${name}.dropPath: CLIP's towers have no DropPath, got ${o.dropPath}`);
    if (o.layerScale !== 'model') throw new ConfigError(`model.modalities.${name}.layerScale: CLIP's towers have no LayerScale, got ${JSON.stringify(o.layerScale)}`);
    if (o.logitScale.init !== null || o.logitScale.learnable !== null) throw new ConfigError(`model.modalities.${name}.logitScale: CLIP has one logit scale: set model.logitScale`);
  }
  if (m.layerScale !== 'model') throw new ConfigError(`model.layerScale: CLIP configs have no LayerScale, got ${JSON.stringify(m.layerScale)}`);
  const sizes: readonly string[] = models.CLIP_SIZES;
  const architecture = sizes.includes(m.config) ? await models.loadClipConfig(m.config as models.ClipSize) : models.clipConfig(await readJsonFile(m.config, 'model.config'));
  const model = new models.ClipModel(architecture, { gradCheckpointing: cfg.gradCheckpointing });
  if (m.weights !== null) await loadInitialWeights(model, m.weights);
  const scale = named(model, 'logit_scale').tensor;
  // SigLIP's own init replaces a random init's, never loaded weights' (unless model.logitScale.init says so).
  const init = m.logitScale.init ?? (cfg.loss.kind === 'siglip' && m.weights === null ? cfg.loss.siglipScaleInit : null);
  noGrad(() => {
    if (init !== null) scale.fill_(Math.log(init));
  });
  if (m.logitScale.learnable === false) scale.requiresGrad_(false);
  const v = architecture.vision;
  const t = architecture.text;
  return {
    module: model,
    architecture,
    inputs: { image: { shape: [3, v.imageSize, v.imageSize], dtype: 'f32' }, text: { shape: [t.contextLength], dtype: 'i32', vocab: t.vocabSize } },
    defaultPairs: [{ a: 'image', b: 'text', weight: 1 }],
    extraParams: new Map(),
    embed: (mod, x) => (mod === 'image' ? model.encodeImage(x, { normalize: true }) : model.encodeText(x, { normalize: true })),
    temperature: () => scale.exp(), // OpenCLIP: exp(logit_scale), clamped after the step rather than in the forward
    towerOf: (name) => (name.startsWith('visual.') ? 'image' : name === 'logit_scale' ? 'logit_scale' : 'text'),
    afterStep: () => void noGrad(() => scale.clamp_(0, LN_100)),
    syncBuffers: () => undefined,
  };
}

async function buildImageBind(cfg: TrainConfig): Promise<TrainModel> {
  const m = cfg.model;
  const all: readonly string[] = models.MODALITIES;
  checkModalities(m, all);
  if (m.logitScale.init !== null || m.logitScale.learnable !== null)
    throw new ConfigError('model.logitScale: ImageBind has a scale per modality: set model.modalities.<modality>.logitScale');
  const overrides: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(m.modalities))
    overrides[name] = { ...(o.dropPath !== null ? { dropPath: o.dropPath } : {}), ...(o.layerScale !== 'model' ? { layerScale: o.layerScale } : {}) };
  if (m.layerScale !== 'model') overrides['layerScale'] = m.layerScale;
  const sizes: readonly string[] = models.IMAGEBIND_SIZES;
  const architecture = sizes.includes(m.config)
    ? await models.loadImageBindConfig(m.config as models.ImageBindSize, overrides)
    : models.imageBindConfig(models.mergeConfig(await readJsonFile(m.config, 'model.config'), overrides));
  const model = new models.ImageBindModel(architecture, { gradCheckpointing: cfg.gradCheckpointing });
  if (m.weights !== null) await loadInitialWeights(model, m.weights);
  const extraParams = new Map<string, Tensor>();
  // Each non-vision modality's log scale: the model's tensor, or a trainable copy of a fixed buffer.
  const logScale = new Map<string, Tensor>();
  const buffersToSync: [Tensor, Tensor][] = [];
  for (const mod of all) {
    if (mod === 'vision') continue;
    const name = `modality_postprocessors.${mod}.1.log_logit_scale`;
    const { tensor, param } = named(model, name);
    const o = m.modalities[mod]?.logitScale;
    if (o?.init != null) {
      const init = o.init;
      noGrad(() => void tensor.fill_(Math.log(init)));
    }
    if (param && o?.learnable === false) tensor.requiresGrad_(false);
    if (!param && o?.learnable === true) {
      const p = noGrad(() => tensor.clone()).requiresGrad_(true);
      extraParams.set(name, p);
      buffersToSync.push([p, tensor]);
      logScale.set(mod, p);
    } else logScale.set(mod, tensor);
  }
  const c = architecture;
  const inputs: Record<string, InputSpec> = {
    vision: { shape: [3, c.vision.imageSize, c.vision.imageSize], dtype: 'f32' },
    text: { shape: [c.text.contextLength], dtype: 'i32', vocab: c.text.vocabSize },
    audio: { shape: [1, c.audio.numMelBins, c.audio.targetLen], dtype: 'f32' },
    depth: { shape: [1, c.depth.imageSize, c.depth.imageSize], dtype: 'f32' },
    thermal: { shape: [1, c.thermal.imageSize, c.thermal.imageSize], dtype: 'f32' },
    imu: { shape: [c.imu.channels, c.imu.numSamples], dtype: 'f32' },
  };
  return {
    module: model,
    architecture,
    inputs,
    defaultPairs: all.filter((x) => x !== 'vision').map((b) => ({ a: 'vision', b, weight: 1 })),
    extraParams,
    // encode() returns the scaled embedding (text ≤ 100×, audio 20×, …): normalising again gives the unit vector.
    embed: (mod, x) => {
      const e = model.encode(mod as models.Modality, x);
      const n = F.normalize(e, { dim: -1 });
      e.dispose();
      return n;
    },
    // The non-image modality's scale (b's when neither is vision), clipped at 100 in the forward as upstream.
    temperature: (a, b) => {
      const mod = b === 'vision' ? a : b;
      return logScale.get(mod)!.exp().clamp(null, IMAGEBIND_MAX_SCALE);
    },
    towerOf: (name) => /^modality_[a-z]+\.([a-z]+)\./.exec(name)?.[1] ?? 'other',
    afterStep: () => undefined,
    syncBuffers: () => void noGrad(() => buffersToSync.forEach(([p, buf]) => buf.copy_(p))),
  };
}

/**
 * Streams weights from a `.pth`, a `.safetensors` or a Kiln checkpoint directory into the model (strict).
 * Runs before the trainer holds references to the model's tensors: loading replaces them.
 */
async function loadInitialWeights(model: models.ClipModel | models.ImageBindModel, path: string): Promise<void> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'model.safetensors');
  } catch {
    throw new ConfigError(`model.weights: no such file or directory: ${JSON.stringify(path)}`);
  }
  await model.loadWeights(file.endsWith('.safetensors') ? io.iterateSafetensors(file) : io.iteratePth(file));
}
