// kiln.train.lora: low-rank adapters (Hu et al. 2021, PEFT's layout and init) on the q, k, v projections of
// attention separately (rows of the packed in_proj_weight), on out_proj and on MLP Linear layers; freezing
// the base, saving only the adapters, loading them onto a base, merging into and unmerging from its weights.

import type { LoraSection } from './config.js';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Tensor, F, io, nn, noGrad } from '../public.js';
import { canonical } from './checkpoint.js';

/** Which layers get adapters and how they are shaped. */
export interface LoraOptions {
  /** The adapter rank r (PEFT's default 8). */
  readonly rank?: number;
  /** lora_alpha: the update is scaled by alpha / rank (PEFT's default 8). */
  readonly alpha?: number;
  /** Dropout on the adapter's input (PEFT's lora_dropout, default 0). */
  readonly dropout?: number;
  /**
   * Module paths relative to a block, matched as suffixes: 'attn.q_proj', 'attn.k_proj', 'attn.v_proj',
   * 'attn.out_proj', 'mlp.c_fc', 'mlp.c_proj' (CLIP) or 'mlp.fc1', 'mlp.fc2' (ImageBind).
   */
  readonly targets: readonly string[];
  /** Only layers of these towers (CLIP: 'image', 'text'; ImageBind: its modality names); null = all. */
  readonly towers?: readonly string[] | null;
  /** Only layers of these transformer blocks (indices into resblocks / blocks); null = all. */
  readonly blocks?: readonly number[] | null;
  /** The tower of a module path; the default knows CLIP's and ImageBind's names. */
  readonly towerOf?: (path: string) => string;
}

/** The options an adapted model was built with, as stored in a saved adapter file: the config's lora section. */
export type LoraSpec = LoraSection;

type Base = nn.Linear | nn.InProjection;

/**
 * y = base(x) + (alpha/r)·B(A(dropout(x))) with `lora_A` [r, in] (kaiming-uniform, a = √5) and `lora_B`
 * [out, r] (zeros), so an adapter starts as the identity change. A Linear base keeps its `weight` and
 * `bias` under their own names here (the state dict keeps upstream's `out_proj.weight`); a q/k/v base reads
 * its rows of the owner's in_proj_weight, which stays where it was.
 */
export class LoraLinear extends nn.Module {
  readonly scaling: number;
  private merged_ = false;

  constructor(
    private readonly base: Base,
    readonly rank: number,
    readonly alpha: number,
    readonly dropout: number,
  ) {
    super();
    this.scaling = alpha / rank;
    const w = base instanceof nn.Linear ? base.weight : base.weightView();
    const dtype = w.dtype;
    if (base instanceof nn.InProjection) w.dispose(); // a view of in_proj_weight, made only to read its dtype
    const f = { dtype: dtype === 'f16' ? ('f16' as const) : ('f32' as const) };
    if (base instanceof nn.Linear) {
      this.registerParameter('weight', base.weight);
      this.registerParameter('bias', base.bias);
    }
    this.registerModule('lora_A', new nn.Linear(base.inFeatures, rank, { ...f, bias: false }));
    this.registerModule('lora_B', new nn.Linear(rank, base.outFeatures, { ...f, bias: false, init: { weight: nn.init.zeros_ } }));
  }

  get inFeatures(): number {
    return this.base.inFeatures;
  }
  get outFeatures(): number {
    return this.base.outFeatures;
  }
  get loraA(): nn.Linear {
    return this.child('lora_A');
  }
  get loraB(): nn.Linear {
    return this.child('lora_B');
  }
  /** Whether the update is currently folded into the base weight (forward then runs the base only). */
  get merged(): boolean {
    return this.merged_;
  }

  /** The base weight this adapter changes: the Linear's weight, or the q/k/v rows of in_proj_weight (a view). */
  baseWeight(): Tensor {
    if (this.base instanceof nn.InProjection) return this.base.weightView();
    return this.getParameter('weight')!;
  }

  private baseForward(x: Tensor): Tensor {
    if (this.base instanceof nn.InProjection) return this.base.call(x);
    const y = x.matmul(this.getParameter('weight')!.mT);
    const b = this.getParameter('bias');
    if (!b) return y;
    const out = y.add(b);
    y.dispose();
    return out;
  }

  forward(x: Tensor): Tensor {
    const y = this.baseForward(x); // [..., out]
    if (this.merged_) return y;
    const d = F.dropout(x, this.dropout, this.training);
    const a = this.loraA.call(d); // [..., r]
    const b = this.loraB.call(a); // [..., out]
    const out = y.add(b, { alpha: this.scaling });
    for (const t of [y, a, b]) t.dispose();
    if (d !== x) d.dispose();
    return out;
  }

  /** ΔW = (alpha/r)·B·A, [out, in]. */
  delta(): Tensor {
    return noGrad(() => {
      const ba = this.loraB.weight.matmul(this.loraA.weight);
      const out = ba.mul(this.scaling);
      ba.dispose();
      return out;
    });
  }

  /** W ← W + ΔW in place (for q/k/v: into its rows of in_proj_weight). */
  merge(): void {
    if (this.merged_) throw new Error('lora.merge: this adapter is already merged');
    this.shift(1);
    this.merged_ = true;
  }

  /** W ← W − ΔW in place: the base weight back (up to float rounding of the add and subtract). */
  unmerge(): void {
    if (!this.merged_) throw new Error('lora.unmerge: this adapter is not merged');
    this.shift(-1);
    this.merged_ = false;
  }

  private shift(sign: 1 | -1): void {
    noGrad(() => {
      const d = this.delta();
      const w = this.baseWeight();
      w.add_(d, { alpha: sign });
      d.dispose();
      if (this.base instanceof nn.InProjection) w.dispose();
    });
  }
}

// ---- choosing layers ----------------------------------------------------------------------------------------

/** CLIP: `visual.*` is the image tower, the rest the text tower; ImageBind: `modality_*.<m>.*` is tower m. */
export function defaultTowerOf(path: string): string {
  if (path.startsWith('visual.')) return 'image';
  return /^modality_[a-z]+\.([a-z]+)\./.exec(path)?.[1] ?? 'text';
}

const BLOCK = /(?:^|\.)(?:resblocks|blocks|layers)\.(\d+)\./;

function resolveSpec(opts: LoraOptions): LoraSpec {
  const rank = opts.rank ?? 8;
  const alpha = opts.alpha ?? 8;
  const dropout = opts.dropout ?? 0;
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`lora.apply: rank must be a positive integer, got ${rank}`);
  if (!(Number.isFinite(alpha) && alpha > 0)) throw new Error(`lora.apply: alpha must be a positive number, got ${alpha}`);
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`lora.apply: dropout must be in [0, 1), got ${dropout}`);
  const targets: unknown = opts.targets;
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => typeof t === 'string')) throw new Error('lora.apply: targets must list at least one module path (e.g. attn.q_proj)');
  return { rank, alpha, dropout, targets: [...opts.targets], towers: opts.towers ? [...opts.towers] : null, blocks: opts.blocks ? [...opts.blocks] : null };
}

/** The module paths `opts` selects in `model`, in module order; errors name a target that matches nothing. */
export function selectPaths(model: nn.Module, opts: LoraOptions): string[] {
  const spec = resolveSpec(opts);
  const towerOf = opts.towerOf ?? defaultTowerOf;
  const all = [...model.namedModules()].filter(([, m]) => m instanceof nn.Linear || m instanceof nn.InProjection || m instanceof LoraLinear);
  const out: string[] = [];
  for (const target of spec.targets) {
    const hits = all.filter(([p]) => p === target || p.endsWith(`.${target}`));
    if (hits.length === 0) {
      const known = [...new Set(all.map(([p]) => p.split('.').slice(-2).join('.')))];
      throw new Error(`lora.apply: target '${target}' matches no Linear or q/k/v projection (known: ${known.join(', ')})`);
    }
    for (const [p] of hits) {
      if (spec.towers && !spec.towers.includes(towerOf(p))) continue;
      if (spec.blocks) {
        const b = BLOCK.exec(p);
        if (!b || !spec.blocks.includes(Number(b[1]))) continue;
      }
      out.push(p);
    }
  }
  if (out.length === 0) throw new Error(`lora.apply: no layer matches targets ${JSON.stringify(spec.targets)} in towers ${JSON.stringify(spec.towers)} and blocks ${JSON.stringify(spec.blocks)}`);
  const order = new Map(all.map(([p], i) => [p, i]));
  return [...new Set(out)].sort((a, b) => order.get(a)! - order.get(b)!);
}

/** The spec each adapted model was built with (save() writes it). */
const specs = new WeakMap<nn.Module, LoraSpec>();

/** What apply() and load() return. */
export interface LoraModel {
  readonly spec: LoraSpec;
  /** The adapted module paths. */
  readonly paths: readonly string[];
  /** The adapter parameters by state-dict name (`<path>.lora_A.weight`, `<path>.lora_B.weight`). */
  readonly params: ReadonlyMap<string, Tensor>;
}

/**
 * Installs an adapter on each selected layer and freezes every other parameter of `model` (the base still
 * records what backward needs to reach adapters upstream of it). Only the adapters then get gradients and
 * optimizer state.
 * @example const info = kiln.train.lora.apply(clip, { rank: 8, alpha: 16, targets: ['attn.q_proj', 'attn.v_proj', 'mlp.c_fc'], towers: ['text'] });
 */
export function apply(model: nn.Module, opts: LoraOptions, paths?: readonly string[]): LoraModel {
  const spec = resolveSpec(opts);
  const chosen = paths ?? selectPaths(model, opts);
  for (const p of chosen) {
    const m = model.getSubmodule(p);
    if (m instanceof LoraLinear) throw new Error(`lora.apply: '${p}' already has an adapter`);
    if (!(m instanceof nn.Linear || m instanceof nn.InProjection)) throw new Error(`lora.apply: '${p}' is a ${m.constructor.name}, not a Linear or q/k/v projection`);
    model.setSubmodule(p, new LoraLinear(m, spec.rank, spec.alpha, spec.dropout));
  }
  specs.set(model, spec);
  const params = adapterStateDict(model);
  const own = new Set(params.values());
  for (const t of model.parameters()) if (!own.has(t)) t.requiresGrad_(false);
  return { spec, paths: [...chosen], params };
}

/** The adapters installed in `model`, by module path. */
export function adapters(model: nn.Module): [string, LoraLinear][] {
  return [...model.namedModules()].filter((e): e is [string, LoraLinear] => e[1] instanceof LoraLinear);
}

/** The adapter tensors only, by state-dict name (shared, not copied). */
export function adapterStateDict(model: nn.Module): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [p, m] of adapters(model)) for (const [n, t] of m.stateDict(p)) if (n.includes('.lora_A.') || n.includes('.lora_B.')) out.set(n, t);
  return out;
}

/** Folds every adapter into its base weight: the model then runs at the base's cost. */
export function merge(model: nn.Module): void {
  const all = adapters(model);
  if (all.length === 0) throw new Error('lora.merge: the model has no adapters');
  for (const [, m] of all) m.merge();
}

/** Takes every merged adapter back out of its base weight. */
export function unmerge(model: nn.Module): void {
  const all = adapters(model);
  if (all.length === 0) throw new Error('lora.unmerge: the model has no adapters');
  for (const [, m] of all) m.unmerge();
}

// ---- files --------------------------------------------------------------------------------------------------

/** The file name an export directory holds. */
export const ADAPTER_FILE = 'adapter.safetensors';
/** Metadata keys of an adapter file. */
export const META_LORA = 'kiln.lora';
export const META_BASE = 'kiln.base';
const FORMAT_VERSION = 1;

/** What an adapter file says about itself (its safetensors metadata). */
export interface AdapterHeader {
  readonly spec: LoraSpec;
  readonly paths: readonly string[];
  /** The base model's config (architecture) and the weights the adapters were trained on, as saved. */
  readonly base: { readonly config: unknown; readonly weights: string | null };
}

export interface SaveOptions {
  /** The base model's config, stored so a loader can build the base (default: the model's `config` property). */
  readonly config?: unknown;
  /** The base weights file the adapters belong to (stored for `kiln embed`). */
  readonly baseWeights?: string | null;
}

function modelConfig(model: nn.Module): unknown {
  return (model as nn.Module & { config?: unknown }).config ?? null;
}

/**
 * Writes only the adapters (safetensors, PEFT's `lora_A.weight` / `lora_B.weight` naming under the module
 * path) with the options, the adapted paths and the base config in the metadata. Merged adapters are
 * refused: their B·A lives in the base weights too.
 * @example await kiln.train.lora.save(model, 'out/adapter.safetensors', { baseWeights: 'clip.safetensors' });
 */
export async function save(model: nn.Module, path: string, opts: SaveOptions = {}): Promise<void> {
  const all = adapters(model);
  if (all.length === 0) throw new Error('lora.save: the model has no adapters');
  if (all.some(([, m]) => m.merged)) throw new Error('lora.save: unmerge the adapters first (merged ones are already in the base weights)');
  const first = all[0]![1];
  const spec = readSpec(model);
  const header = { version: FORMAT_VERSION, ...spec, scaling: first.scaling, paths: all.map(([p]) => p) };
  await io.saveSafetensors(path, adapterStateDict(model), {
    format: 'pt',
    [META_LORA]: JSON.stringify(header),
    [META_BASE]: JSON.stringify({ config: opts.config ?? modelConfig(model), weights: opts.baseWeights ?? null }),
  });
}

function readSpec(model: nn.Module): LoraSpec {
  const s = specs.get(model);
  if (s) return s;
  // Adapters installed by hand (new LoraLinear + setSubmodule): their paths are the targets.
  const all = adapters(model);
  const [, m] = all[0]!;
  return { rank: m.rank, alpha: m.alpha, dropout: m.dropout, targets: all.map(([p]) => p), towers: null, blocks: null };
}

/** Resolves a directory (holding adapter.safetensors) or a file to the adapter file's path. */
export async function adapterPath(path: string): Promise<string> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new Error(`lora: no such file or directory: ${path}`);
  return s.isDirectory() ? join(path, ADAPTER_FILE) : path;
}

/** Reads an adapter file's metadata without loading its tensors. */
export async function readHeader(path: string): Promise<AdapterHeader> {
  const file = await adapterPath(path);
  const h = await io.listSafetensors(file);
  const lora = h.metadata[META_LORA];
  if (lora === undefined) throw new Error(`lora: ${file} is not a Kiln adapter file (no '${META_LORA}' metadata)`);
  let parsed: LoraSpec & { version?: unknown; paths?: unknown };
  let base: { config?: unknown; weights?: unknown };
  try {
    parsed = JSON.parse(lora) as typeof parsed;
    base = JSON.parse(h.metadata[META_BASE] ?? '{}') as typeof base;
  } catch (e) {
    throw new Error(`lora: ${file}: corrupt metadata (${e instanceof Error ? e.message : String(e)})`);
  }
  if (parsed.version !== FORMAT_VERSION) throw new Error(`lora: ${file}: adapter format version ${JSON.stringify(parsed.version)}, this Kiln reads ${FORMAT_VERSION}`);
  if (!Array.isArray(parsed.paths) || !parsed.paths.every((p) => typeof p === 'string')) throw new Error(`lora: ${file}: metadata lists no adapted paths`);
  const spec = resolveSpec(parsed); // the same checks as apply's options: a corrupt header fails here
  return { spec, paths: parsed.paths, base: { config: base.config ?? null, weights: typeof base.weights === 'string' ? base.weights : null } };
}

/**
 * Installs the adapters of a saved file (a file or a directory holding adapter.safetensors) onto a base
 * model of the same config: the same layers get adapters of the same rank, and their weights are loaded.
 * @example const info = await kiln.train.lora.load(clip, 'runs/clip-text-lora/export'); kiln.train.lora.merge(clip);
 */
export async function load(model: nn.Module, path: string): Promise<LoraModel> {
  const file = await adapterPath(path);
  const h = await readHeader(file);
  const own = modelConfig(model);
  if (h.base.config !== null && own !== null && canonical(h.base.config) !== canonical(own))
    throw new Error(`lora.load: ${file} was trained on another base model config:\n  adapter: ${canonical(h.base.config)}\n  model:   ${canonical(own)}`);
  const info = apply(model, h.spec, h.paths);
  const sd = await io.loadSafetensors(file);
  const want = new Set(info.params.keys());
  const unexpected = [...sd.keys()].filter((k) => !want.has(k));
  const missing = [...want].filter((k) => !sd.has(k));
  if (unexpected.length || missing.length) {
    for (const t of sd.values()) t.dispose();
    throw new Error(`lora.load: ${file} does not match its own metadata (missing: ${missing.join(', ') || 'none'}; unexpected: ${unexpected.join(', ') || 'none'})`);
  }
  model.loadStateDict(sd, { strict: false });
  for (const t of sd.values()) t.dispose();
  return info;
}
