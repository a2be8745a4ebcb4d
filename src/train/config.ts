// The trainer's typed configuration: defaults, validation with errors naming the field and the value, and
// resolveConfig (an object or a JSON/YAML file, with `--set key=value` overrides by dotted path; reading and
// merging are in config-file.ts). Data only: nothing in a config is ever evaluated as code.

import { ConfigError } from './config-error.js';
import { applySets, mergeOver, readConfigFile } from './config-file.js';
import { type StreamDataSection, streamKinds } from './data/kinds.js';

export { ConfigError } from './config-error.js';
export { applySets, mergeOver, parseConfigText, readConfigFile } from './config-file.js';

export type ModelKind = 'imagebind' | 'clip';
export type LossKind = 'infonce' | 'siglip';
export type ExcludeRule = 'openclip' | 'main';
export type ScheduleKind = 'warmup-cosine' | 'constant' | 'constant-cooldown' | 'cosine-restarts';
export type Precision = 'f32' | 'f16-mixed';

export interface LogitScaleOverride {
  /** The scale itself (not its log), e.g. 1/0.07; null keeps the model's. */
  readonly init: number | null;
  /** null keeps the model's choice (ImageBind: text learnable, others fixed; CLIP: learnable). */
  readonly learnable: boolean | null;
}

export interface ModalityOverride {
  /** The trunk's last-block DropPath rate (ImageBind; earlier blocks follow linspace(0, rate, n)). */
  readonly dropPath: number | null;
  /** This trunk's LayerScale (ImageBind): { type, init }, null = off, 'model' = the model-wide setting. */
  readonly layerScale: LayerScaleOption;
  readonly logitScale: LogitScaleOverride;
}

export type LayerScaleOption = { readonly type: 'per_channel' | 'scalar'; readonly init: number } | null | 'model';

export interface ModelSection {
  readonly kind: ModelKind;
  /** A named size ('tiny', 'huge', 'vit_b_32', …) or the path of a JSON model config. */
  readonly config: string;
  /** A `.pth`, `.safetensors` or Kiln checkpoint directory to start from; null = random init. */
  readonly weights: string | null;
  /** ImageBind LayerScale in every block ({ type, init }), null = off, 'model' = as the model config says. */
  readonly layerScale: LayerScaleOption;
  /** Per-modality overrides by modality name (ImageBind: vision, text, audio, …; CLIP: image, text). */
  readonly modalities: Readonly<Record<string, ModalityOverride>>;
  /** CLIP's single logit scale (ImageBind uses modalities.<m>.logitScale). */
  readonly logitScale: LogitScaleOverride;
}

export interface RandomDataSection {
  /** 'random': class-structured random tensors of the model's input shapes (tests, smoke runs). */
  readonly kind: 'random';
  /** Samples per epoch. */
  readonly size: number;
  /** Classes the random samples are drawn around (pairs of one class share a prototype). */
  readonly classes: number;
  /** Standard deviation of the per-sample noise around the class prototype. */
  readonly noise: number;
}

/** Image–caption pairs in OpenCLIP's CSV layout (src/train/captions.ts). */
export interface ImageCaptionDataSection {
  readonly kind: 'image-caption';
  /** A tab-separated file with a header line; image paths are relative to it. */
  readonly captions: string;
  readonly imageKey: string;
  readonly captionKey: string;
  /** A merges file for the tokenizer; null = Kiln's default (kiln-bpe-4k). */
  readonly tokenizer: string | null;
  /** The last `heldOut` rows are kept out of training for evaluation (at least batchSize when evalEvery > 0). */
  readonly heldOut: number;
}

/** kiln.data.synthetic scenes (src/train/synthetic-data.ts); sizes left null follow the model's input shapes. */
export interface SyntheticDataSection {
  readonly kind: 'synthetic';
  /** Training scenes, and held-out scenes (another stream of the same seed; 0 = none). */
  readonly size: number;
  readonly heldOut: number;
  /** The dataset's seed; null = the run's seed. */
  readonly seed: number | null;
  readonly imageSize: number | null;
  readonly contextLength: number | null;
  readonly numMelBins: number | null;
  readonly targetLength: number | null;
  readonly imuSamples: number | null;
}

export type DataSection = RandomDataSection | ImageCaptionDataSection | SyntheticDataSection | StreamDataSection;

/** LoRA adapters (kiln.train.lora): only they train; the base model is frozen. */
export interface LoraSection {
  readonly rank: number;
  readonly alpha: number;
  readonly dropout: number;
  /** Module paths relative to a block, e.g. attn.q_proj, attn.v_proj, attn.out_proj, mlp.c_fc. */
  readonly targets: readonly string[];
  /** Towers to adapt (CLIP: image, text; ImageBind: modality names); null = all. */
  readonly towers: readonly string[] | null;
  /** Transformer block indices to adapt; null = all. */
  readonly blocks: readonly number[] | null;
}

export interface PairSpec {
  readonly a: string;
  readonly b: string;
  readonly weight: number;
}

export interface LossSection {
  readonly kind: LossKind;
  /** SigLIP's learnable bias init (OpenCLIP: −10). */
  readonly siglipBiasInit: number;
  /** SigLIP's logit scale init for a randomly initialised CLIP, the scale itself (OpenCLIP: 10, i.e. ln 10 in the parameter). */
  readonly siglipScaleInit: number;
}

export interface ParamGroupSpec {
  readonly name: string;
  /** Glob patterns over parameter names (`*` = any characters); the first group that matches takes it. */
  readonly match: readonly string[];
  readonly lr: number;
}

export interface OptimizerSection {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Weight-decay exclusion: OpenCLIP v3.3 ('openclip') or OpenCLIP main ('main', also pos/class embeddings). */
  readonly exclude: ExcludeRule;
  readonly groups: readonly ParamGroupSpec[];
}

export interface ScheduleSection {
  readonly kind: ScheduleKind;
  /** Whether warmup, cooldown, T_0 and the horizon count optimizer steps or epochs. */
  readonly unit: 'steps' | 'epochs';
  /** Linear warmup length, lr·(t+1)/warmup (OpenCLIP). */
  readonly warmup: number;
  /** warmup-cosine: the lr it decays to (OpenCLIP: 0). */
  readonly floor: number;
  /** constant-cooldown: length of the final cooldown, its power and end lr (OpenCLIP's const-cooldown). */
  readonly cooldown: number;
  readonly cooldownPower: number;
  readonly cooldownEnd: number;
  /** cosine-restarts: torch's CosineAnnealingWarmRestarts(T_0, T_mult, eta_min). */
  readonly T_0: number;
  readonly T_mult: number;
  readonly eta_min: number;
}

/** Locks a tower (OpenCLIP's --lock-image / --lock-text): every parameter frozen but the last groups. */
export interface TowerLock {
  /**
   * Groups left trainable, counted from the output end as OpenCLIP's lock(unlocked_groups): 1 = the
   * projection head, 2 = also the last block and the final LayerNorm, 3 = also the block before, …; the
   * first group is the stem (embeddings, pre-LN). 0 locks the whole tower.
   */
  readonly unlockedGroups: number;
  /**
   * Whether LayerNorm weights and biases in the locked part are locked too (true, OpenCLIP's classic towers);
   * false leaves them trainable (OpenCLIP's --lock-text-freeze-layer-norm off, as its HF towers do).
   */
  readonly freezeLayerNorm: boolean;
}

/** One stage of staged training: from `step` on, these towers are frozen and these groups have these lrs. */
export interface StageSpec {
  /** The optimizer step the stage starts at (stages are in increasing order). */
  readonly step: number;
  /** Towers frozen during the stage (modality names; CLIP: image, text, logit_scale). */
  readonly frozen: readonly string[];
  /** Base learning rate per parameter group name ('default' or an optimizer.groups name); others keep theirs. */
  readonly lr: Readonly<Record<string, number>>;
}

export interface TrainConfig {
  readonly model: ModelSection;
  readonly data: DataSection;
  readonly pairs: readonly PairSpec[];
  readonly loss: LossSection;
  readonly optimizer: OptimizerSection;
  readonly schedule: ScheduleSection;
  /** LoRA fine-tuning (adapters only, written to <out>/export at the end); null = train the model's parameters. */
  readonly lora: LoraSection | null;
  /** The contrastive batch (the set of negatives). */
  readonly batchSize: number;
  /**
   * Micro-batches per contrastive batch, by feature caching (OpenCLIP's --accum-freq): the loss always sees
   * all `batchSize` negatives. There is no naive (per-micro-batch loss) accumulation.
   */
  readonly accumulate: number;
  /** Towers locked for the whole run, by tower name, optionally with their last groups unlocked. */
  readonly lock: Readonly<Record<string, TowerLock>>;
  /** Staged training: frozen towers and learning rates that change at given steps. */
  readonly stages: readonly StageSpec[];
  /** Activation checkpointing per transformer block (recomputed in backward instead of kept). */
  readonly gradCheckpointing: boolean;
  /** 'f16-mixed': forward under kiln.autocast('f16') with a kiln.amp.GradScaler; f32 master weights. */
  readonly precision: Precision;
  /**
   * What 'f16-mixed' does on an adapter without 'shader-f16': null (the default) refuses with an error
   * naming the feature; 'f32' runs the whole run in f32 instead.
   */
  readonly precisionFallback: 'f32' | null;
  /** Global L2 norm to clip gradients to; null = no clipping (the norm is still logged). */
  readonly clipGradNorm: number | null;
  /** Stop after this many consecutive steps skipped for a non-finite loss or gradient. */
  readonly maxNonFiniteInARow: number;
  readonly logEvery: number;
  readonly checkpointEvery: number;
  readonly keepLast: number;
  /** Evaluate every N steps (0 = never), or 'epoch': at the end of every epoch. */
  readonly evalEvery: number | 'epoch';
  readonly seed: number;
  /** Optimizer steps to run; null = derived from `epochs`. */
  readonly steps: number | null;
  readonly epochs: number | null;
  /** Output directory (metrics.jsonl, checkpoints/). */
  readonly out: string;
}

// A nullable section (lora) is partial too: it merges over its own defaults.
type DeepPartial<T> = { [K in keyof T]?: NonNullable<T[K]> extends readonly unknown[] ? T[K] : NonNullable<T[K]> extends object ? DeepPartial<NonNullable<T[K]>> | null : T[K] };
/** What a user writes: any subset of TrainConfig (a pair's weight defaults to 1, a stage's frozen and lr to none), merged over DEFAULTS. */
export type TrainConfigInput = Omit<DeepPartial<TrainConfig>, 'pairs' | 'stages'> & {
  pairs?: readonly { a: string; b: string; weight?: number }[];
  stages?: readonly { step: number; frozen?: readonly string[]; lr?: Readonly<Record<string, number>> }[];
};

const NO_SCALE: LogitScaleOverride = { init: null, learnable: null };

/** OpenCLIP's ViT defaults where they apply (lr 5e-4, betas (0.9, 0.98), eps 1e-6, wd 0.2, cosine to 0). */
export const DEFAULTS: TrainConfig = {
  model: { kind: 'clip', config: 'tiny', weights: null, layerScale: 'model', modalities: {}, logitScale: NO_SCALE },
  data: { kind: 'random', size: 64, classes: 8, noise: 0.5 }, // see DATA_KINDS
  pairs: [],
  loss: { kind: 'infonce', siglipBiasInit: -10, siglipScaleInit: 10 },
  optimizer: { lr: 5e-4, betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.2, exclude: 'openclip', groups: [] },
  schedule: { kind: 'warmup-cosine', unit: 'steps', warmup: 0, floor: 0, cooldown: 0, cooldownPower: 1, cooldownEnd: 0, T_0: 10, T_mult: 1, eta_min: 0 },
  lora: null, // see LORA_DEFAULTS
  batchSize: 8,
  accumulate: 1,
  lock: {},
  stages: [],
  gradCheckpointing: false,
  precision: 'f32',
  precisionFallback: null,
  clipGradNorm: null,
  maxNonFiniteInARow: 5,
  logEvery: 10,
  checkpointEvery: 100,
  keepLast: 3,
  evalEvery: 0,
  seed: 0,
  steps: null,
  epochs: null,
  out: 'runs/train',
};

// ---- validation ------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
const fail = (path: string, expected: string, v: unknown): never => {
  throw new ConfigError(`${path}: expected ${expected}, got ${show(v)}`);
};

function obj(v: unknown, path: string, known: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, 'an object', v);
  for (const k of Object.keys(v)) if (!known.includes(k)) throw new ConfigError(`${path ? `${path}.` : ''}${k}: unknown field (known: ${known.join(', ')})`);
  return v as Obj;
}
function num(v: unknown, path: string, min = -Infinity, max = Infinity, what = ''): number {
  const range = min === -Infinity ? (max === Infinity ? '' : ` ≤ ${max}`) : max === Infinity ? ` ≥ ${min}` : ` in [${min}, ${max}]`;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) return fail(path, `${what || 'a number'}${range}`, v);
  return v;
}
function int(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) return fail(path, `an integer ≥ ${min}`, v);
  return v;
}
function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) return fail(path, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  return v as T;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') return fail(path, 'a non-empty string', v);
  return v;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') return fail(path, 'true or false', v);
  return v;
}
function nullable<T>(v: unknown, check: (v: unknown) => T): T | null {
  return v === null ? null : check(v);
}
function list(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) return fail(path, 'a list', v);
  return v;
}

function logitScale(v: unknown, path: string): LogitScaleOverride {
  const o = obj(v, path, ['init', 'learnable']);
  return {
    init: nullable(o['init'] ?? null, (x) => num(x, `${path}.init`, 1e-6, Infinity, 'a positive number')),
    learnable: nullable(o['learnable'] ?? null, (x) => bool(x, `${path}.learnable`)),
  };
}

function layerScaleOption(ls: unknown, path: string): LayerScaleOption {
  if (ls === null) return null;
  if (ls === 'model' || ls === undefined) return 'model';
  const l = obj(ls, path, ['type', 'init']);
  return { type: oneOf(l['type'], `${path}.type`, ['per_channel', 'scalar']), init: num(l['init'], `${path}.init`) };
}

function model(v: unknown): ModelSection {
  const o = obj(v, 'model', ['kind', 'config', 'weights', 'layerScale', 'modalities', 'logitScale']);
  const layerScale = layerScaleOption(o['layerScale'], 'model.layerScale');
  const mods = obj(o['modalities'], 'model.modalities', Object.keys(o['modalities'] ?? {}));
  const modalities: Record<string, ModalityOverride> = {};
  for (const [name, m] of Object.entries(mods)) {
    const p = `model.modalities.${name}`;
    const mo = obj(m, p, ['dropPath', 'layerScale', 'logitScale']);
    modalities[name] = {
      dropPath: nullable(mo['dropPath'] ?? null, (x) => num(x, `${p}.dropPath`, 0, 1)),
      layerScale: layerScaleOption(mo['layerScale'], `${p}.layerScale`),
      logitScale: logitScale(mo['logitScale'] ?? NO_SCALE, `${p}.logitScale`),
    };
  }
  return {
    kind: oneOf(o['kind'], 'model.kind', ['imagebind', 'clip']),
    config: str(o['config'], 'model.config'),
    weights: nullable(o['weights'], (x) => str(x, 'model.weights')),
    layerScale,
    modalities,
    logitScale: logitScale(o['logitScale'], 'model.logitScale'),
  };
}

/**
 * Each data kind's defaults and validator. A new kind (the synthetic six-modality scenes) is one entry here,
 * a member of the DataSection union, and a case where the loop makes its datasets.
 */
const DATA_KINDS: { readonly [K in DataSection['kind']]: { readonly defaults: Extract<DataSection, { kind: K }>; readonly check: (o: Obj) => DataSection } } = {
  random: {
    defaults: { kind: 'random', size: 64, classes: 8, noise: 0.5 },
    check: (o) => ({ kind: 'random', size: int(o['size'], 'data.size', 1), classes: int(o['classes'], 'data.classes', 1), noise: num(o['noise'], 'data.noise', 0) }),
  },
  'image-caption': {
    defaults: { kind: 'image-caption', captions: '', imageKey: 'filepath', captionKey: 'title', tokenizer: null, heldOut: 0 },
    check: (o) => ({
      kind: 'image-caption',
      captions: str(o['captions'], 'data.captions'),
      imageKey: str(o['imageKey'], 'data.imageKey'),
      captionKey: str(o['captionKey'], 'data.captionKey'),
      tokenizer: nullable(o['tokenizer'], (x) => str(x, 'data.tokenizer')),
      heldOut: int(o['heldOut'], 'data.heldOut', 0),
    }),
  },
  synthetic: {
    defaults: { kind: 'synthetic', size: 2048, heldOut: 256, seed: null, imageSize: null, contextLength: null, numMelBins: null, targetLength: null, imuSamples: null },
    check: (o) => ({
      kind: 'synthetic',
      size: int(o['size'], 'data.size', 1),
      heldOut: int(o['heldOut'], 'data.heldOut', 0),
      seed: nullable(o['seed'], (x) => int(x, 'data.seed', 0)),
      imageSize: nullable(o['imageSize'], (x) => int(x, 'data.imageSize', 8)),
      contextLength: nullable(o['contextLength'], (x) => int(x, 'data.contextLength', 12)),
      numMelBins: nullable(o['numMelBins'], (x) => int(x, 'data.numMelBins', 8)),
      targetLength: nullable(o['targetLength'], (x) => int(x, 'data.targetLength', 8)),
      imuSamples: nullable(o['imuSamples'], (x) => int(x, 'data.imuSamples', 8)),
    }),
  },
  ...streamKinds({ obj, num, int, oneOf, str, bool, nullable, list, fail }), // csv, jsonl, coco, folders, webdataset (data/kinds.ts)
};

/** PEFT's defaults (r 8, alpha 8, no dropout) on the four attention projections. */
export const LORA_DEFAULTS: LoraSection = { rank: 8, alpha: 8, dropout: 0, targets: ['attn.q_proj', 'attn.k_proj', 'attn.v_proj', 'attn.out_proj'], towers: null, blocks: null };

function lora(v: unknown): LoraSection | null {
  if (v === null) return null;
  const o = obj(mergeOver(LORA_DEFAULTS, v), 'lora', Object.keys(LORA_DEFAULTS));
  const targets = list(o['targets'], 'lora.targets').map((t, i) => str(t, `lora.targets[${i}]`));
  if (targets.length === 0) fail('lora.targets', 'at least one module path (e.g. attn.q_proj)', o['targets']);
  return {
    rank: int(o['rank'], 'lora.rank', 1),
    alpha: num(o['alpha'], 'lora.alpha', 1e-12, Infinity, 'a positive number'),
    dropout: num(o['dropout'], 'lora.dropout', 0, 0.999),
    targets,
    towers: nullable(o['towers'], (x) => list(x, 'lora.towers').map((t, i) => str(t, `lora.towers[${i}]`))),
    blocks: nullable(o['blocks'], (x) => list(x, 'lora.blocks').map((b, i) => int(b, `lora.blocks[${i}]`, 0))),
  };
}

function data(v: unknown): DataSection {
  const kind = oneOf(obj(v, 'data', ['kind'].concat(Object.keys(v ?? {})))['kind'], 'data.kind', Object.keys(DATA_KINDS) as DataSection['kind'][]);
  const spec = DATA_KINDS[kind];
  return spec.check(obj(v, 'data', Object.keys(spec.defaults)));
}

function pairs(v: unknown): PairSpec[] {
  return list(v, 'pairs').map((p, i) => {
    const o = obj(p, `pairs[${i}]`, ['a', 'b', 'weight']);
    const a = str(o['a'], `pairs[${i}].a`);
    const b = str(o['b'], `pairs[${i}].b`);
    if (a === b) throw new ConfigError(`pairs[${i}]: a pair needs two different modalities, got '${a}' twice`);
    return { a, b, weight: num(o['weight'] ?? 1, `pairs[${i}].weight`, 0) };
  });
}

function optimizer(v: unknown): OptimizerSection {
  const o = obj(v, 'optimizer', ['lr', 'betas', 'eps', 'weightDecay', 'exclude', 'groups']);
  const betas = list(o['betas'], 'optimizer.betas');
  if (betas.length !== 2) fail('optimizer.betas', 'two numbers [beta1, beta2]', betas);
  const names = new Set<string>();
  const groups = list(o['groups'], 'optimizer.groups').map((g, i) => {
    const p = `optimizer.groups[${i}]`;
    const go = obj(g, p, ['name', 'match', 'lr']);
    const name = str(go['name'], `${p}.name`);
    if (name === 'default' || names.has(name)) throw new ConfigError(`${p}.name: '${name}' is taken (group names are unique and 'default' is the unmatched parameters)`);
    names.add(name);
    const match = list(go['match'], `${p}.match`).map((m, j) => str(m, `${p}.match[${j}]`));
    if (match.length === 0) fail(`${p}.match`, 'at least one name pattern', go['match']);
    return { name, match, lr: num(go['lr'], `${p}.lr`, 0) };
  });
  return {
    lr: num(o['lr'], 'optimizer.lr', 0),
    betas: [num(betas[0], 'optimizer.betas[0]', 0, 0.999999), num(betas[1], 'optimizer.betas[1]', 0, 0.999999)],
    eps: num(o['eps'], 'optimizer.eps', 0),
    weightDecay: num(o['weightDecay'], 'optimizer.weightDecay', 0),
    exclude: oneOf(o['exclude'], 'optimizer.exclude', ['openclip', 'main']),
    groups,
  };
}

function schedule(v: unknown): ScheduleSection {
  const o = obj(v, 'schedule', Object.keys(DEFAULTS.schedule));
  return {
    kind: oneOf(o['kind'], 'schedule.kind', ['warmup-cosine', 'constant', 'constant-cooldown', 'cosine-restarts']),
    unit: oneOf(o['unit'], 'schedule.unit', ['steps', 'epochs']),
    warmup: int(o['warmup'], 'schedule.warmup', 0),
    floor: num(o['floor'], 'schedule.floor', 0),
    cooldown: int(o['cooldown'], 'schedule.cooldown', 0),
    cooldownPower: num(o['cooldownPower'], 'schedule.cooldownPower', 0),
    cooldownEnd: num(o['cooldownEnd'], 'schedule.cooldownEnd', 0),
    T_0: int(o['T_0'], 'schedule.T_0', 1),
    T_mult: int(o['T_mult'], 'schedule.T_mult', 1),
    eta_min: num(o['eta_min'], 'schedule.eta_min', 0),
  };
}

function loss(v: unknown): LossSection {
  const o = obj(v, 'loss', ['kind', 'siglipBiasInit', 'siglipScaleInit']);
  return {
    kind: oneOf(o['kind'], 'loss.kind', ['infonce', 'siglip']),
    siglipBiasInit: num(o['siglipBiasInit'], 'loss.siglipBiasInit'),
    siglipScaleInit: num(o['siglipScaleInit'], 'loss.siglipScaleInit', 1e-6),
  };
}

function locks(v: unknown): Record<string, TowerLock> {
  const o = obj(v, 'lock', Object.keys(v ?? {}));
  const out: Record<string, TowerLock> = {};
  for (const [tower, l] of Object.entries(o)) {
    const lo = obj(l ?? {}, `lock.${tower}`, ['unlockedGroups', 'freezeLayerNorm']);
    out[tower] = { unlockedGroups: int(lo['unlockedGroups'] ?? 0, `lock.${tower}.unlockedGroups`, 0), freezeLayerNorm: bool(lo['freezeLayerNorm'] ?? true, `lock.${tower}.freezeLayerNorm`) };
  }
  return out;
}

function stages(v: unknown): StageSpec[] {
  let last = -1;
  return list(v, 'stages').map((s, i) => {
    const p = `stages[${i}]`;
    const o = obj(s, p, ['step', 'frozen', 'lr']);
    const step = int(o['step'], `${p}.step`, 0);
    if (step <= last) throw new ConfigError(`${p}.step: stages start in increasing order, got ${step} after ${last}`);
    last = step;
    const frozen = list(o['frozen'] ?? [], `${p}.frozen`).map((t, j) => str(t, `${p}.frozen[${j}]`));
    const lrs = obj(o['lr'] ?? {}, `${p}.lr`, Object.keys(o['lr'] ?? {}));
    return { step, frozen, lr: Object.fromEntries(Object.entries(lrs).map(([g, x]) => [g, num(x, `${p}.lr.${g}`, 0)])) };
  });
}

/** Validates a complete config (defaults already merged in); throws ConfigError naming the field. */
/** `dataset`: the caller passes its own dataset (fit's `dataset` option), so `data`'s sizes bound nothing. */
export interface ValidateOptions {
  readonly dataset?: boolean;
}

export function validateConfig(v: unknown, vo: ValidateOptions = {}): TrainConfig {
  const o = obj(v, '', Object.keys(DEFAULTS));
  const cfg: TrainConfig = {
    model: model(o['model']),
    data: data(o['data']),
    pairs: pairs(o['pairs']),
    loss: loss(o['loss']),
    optimizer: optimizer(o['optimizer']),
    schedule: schedule(o['schedule']),
    lora: lora(o['lora']),
    batchSize: int(o['batchSize'], 'batchSize', 2),
    accumulate: int(o['accumulate'], 'accumulate', 1),
    lock: locks(o['lock']),
    stages: stages(o['stages']),
    gradCheckpointing: bool(o['gradCheckpointing'], 'gradCheckpointing'),
    precision: oneOf(o['precision'], 'precision', ['f32', 'f16-mixed']),
    precisionFallback: nullable(o['precisionFallback'], (x) => oneOf(x, 'precisionFallback', ['f32'])),
    clipGradNorm: nullable(o['clipGradNorm'], (x) => num(x, 'clipGradNorm', 1e-12, Infinity, 'a positive number')),
    maxNonFiniteInARow: int(o['maxNonFiniteInARow'], 'maxNonFiniteInARow', 1),
    logEvery: int(o['logEvery'], 'logEvery', 1),
    checkpointEvery: int(o['checkpointEvery'], 'checkpointEvery', 1),
    keepLast: int(o['keepLast'], 'keepLast', 1),
    evalEvery: o['evalEvery'] === 'epoch' ? 'epoch' : int(o['evalEvery'], 'evalEvery', 0),
    seed: int(o['seed'], 'seed', 0),
    steps: nullable(o['steps'], (x) => int(x, 'steps', 1)),
    epochs: nullable(o['epochs'], (x) => int(x, 'epochs', 1)),
    out: str(o['out'], 'out'),
  };
  // Keys later issues fill in exist now, and say clearly what is not there yet.
  if (cfg.batchSize % cfg.accumulate !== 0 || cfg.batchSize / cfg.accumulate < 1)
    throw new ConfigError(`accumulate: must divide batchSize (${cfg.batchSize}) into equal micro-batches, got ${cfg.accumulate}`);
  for (const [i, s] of cfg.stages.entries())
    for (const g of Object.keys(s.lr))
      if (g !== 'default' && !cfg.optimizer.groups.some((x) => x.name === g))
        throw new ConfigError(`stages[${i}].lr.${g}: no parameter group '${g}' (groups: default${cfg.optimizer.groups.map((x) => `, ${x.name}`).join('')})`);
  if (cfg.steps === null && cfg.epochs === null) throw new ConfigError('steps: give steps or epochs (both are null)');
  if (cfg.steps !== null && cfg.epochs !== null) throw new ConfigError(`steps: give steps or epochs, not both (steps ${cfg.steps}, epochs ${cfg.epochs})`);
  if (!vo.dataset && cfg.data.kind === 'synthetic' && cfg.batchSize > cfg.data.size) throw new ConfigError(`batchSize: expected at most data.size (${cfg.data.size}), got ${cfg.batchSize}`);
  if (!vo.dataset && cfg.data.kind === 'random' && cfg.batchSize > cfg.data.size) throw new ConfigError(`batchSize: expected at most data.size (${cfg.data.size}), got ${cfg.batchSize}`);
  return cfg;
}

/**
 * The full, validated config: `input` (an object, or the path of a JSON/YAML file) merged over DEFAULTS,
 * then the `--set` overrides.
 * @example const cfg = await kiln.train.resolveConfig('run.yaml', ['optimizer.lr=1e-4']);
 */
export async function resolveConfig(input: TrainConfigInput | string, sets: readonly string[] = [], vo: ValidateOptions = {}): Promise<TrainConfig> {
  const raw = typeof input === 'string' ? await readConfigFile(input) : input;
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) fail('(config)', 'a mapping of fields', raw);
  const given = applySets(raw ?? {}, sets) as { data?: { kind?: unknown } };
  // `data` merges over the defaults of its own kind, not over another kind's fields.
  const kind = given.data?.kind;
  const dataDefaults = typeof kind === 'string' && kind in DATA_KINDS ? DATA_KINDS[kind as DataSection['kind']].defaults : DEFAULTS.data;
  return validateConfig(mergeOver({ ...DEFAULTS, data: dataDefaults }, given), vo);
}
