// Basic layers and containers: Linear, LayerNorm, Embedding, Dropout, DropPath, GELU, QuickGELU, Identity,
// Sequential, ModuleList, ModuleDict (torch.nn's names, parameter names and layouts, so upstream state dicts load).

import { empty } from '../tensor/alloc.js';
import { full as fullOf, randn } from '../tensor/create.js';
import { dropPath, dropout, embedding, layerNorm, quickGelu } from './functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { linearDefault_ } from './init.js';
import { Module } from './module.js';

/** A module with a one-tensor forward, the shape Sequential chains. */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

/** y = x·Wᵀ + b with `weight` [out, in] and `bias` [out] (PyTorch's layout). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean; dtype?: 'f32' | 'f16' } = {},
  ) {
    super();
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures <= 0 || outFeatures <= 0)
      throw new Error(`Linear: in_features and out_features must be positive integers, got ${inFeatures}, ${outFeatures}`);
    const dtype = opts.dtype ?? 'f32';
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures], dtype).requiresGrad_(true));
    this.bias = this.registerParameter('bias', opts.bias === false ? null : empty([outFeatures], dtype).requiresGrad_(true));
    linearDefault_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    const last = x.shape[x.ndim - 1];
    if (last !== this.inFeatures)
      throw new Error(`Linear: expected input with last dimension ${this.inFeatures}, got shape [${x.shape.join(',')}]`);
    const y = x.matmul(this.weight.mT); // [..., out]; the transpose is read in place
    if (!this.bias) return y;
    const out = y.add(this.bias);
    y.dispose();
    return out;
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Runs its children in order; children are named '0', '1', … as in PyTorch. */
export class Sequential extends Module {
  private readonly layers: UnaryModule[];
  constructor(...layers: UnaryModule[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) {
      const next = m.forward(h);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h;
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): UnaryModule {
    const m = this.layers[i < 0 ? i + this.layers.length : i];
    if (!m) throw new Error(`Sequential: index ${i} is out of range for ${this.layers.length} layers`);
    return m;
  }
}

/** A list of submodules named '0', '1', …. */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];
  constructor(items: readonly M[] = []) {
    super();
    for (const m of items) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (!m) throw new Error(`ModuleList: index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** Submodules under string keys (ImageBind's `modality_trunks.vision`, …). */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();
  constructor(items: Readonly<Record<string, M>> = {}) {
    super();
    for (const [k, m] of Object.entries(items)) this.set(k, m);
  }
  set(key: string, m: M): this {
    this.registerModule(key, m);
    this.items.set(key, m);
    return this;
  }
  get(key: string): M {
    const m = this.items.get(key);
    if (!m) throw new Error(`ModuleDict: no module '${key}' (keys: ${[...this.items.keys()].join(', ')})`);
    return m;
  }
  has(key: string): boolean {
    return this.items.has(key);
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
}

/** LayerNorm over the trailing `normalizedShape` dims, with `weight` and `bias` (PyTorch's names). */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  constructor(
    normalizedShape: number | readonly number[],
    readonly eps = 1e-5,
    opts: { elementwiseAffine?: boolean; bias?: boolean; dtype?: 'f32' | 'f16' } = {},
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    const affine = opts.elementwiseAffine ?? true;
    const dtype = opts.dtype ?? 'f32';
    this.weight = this.registerParameter('weight', affine ? fullOf(this.normalizedShape, 1, { dtype, requiresGrad: true }) : null);
    this.bias = this.registerParameter('bias', affine && opts.bias !== false ? fullOf(this.normalizedShape, 0, { dtype, requiresGrad: true }) : null);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** A lookup table `weight` [numEmbeddings, embeddingDim], initialised N(0, 1) like PyTorch. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { dtype?: 'f32' | 'f16' } = {},
  ) {
    super();
    if (!Number.isInteger(numEmbeddings) || !Number.isInteger(embeddingDim) || numEmbeddings <= 0 || embeddingDim <= 0)
      throw new Error(`Embedding: num_embeddings and embedding_dim must be positive integers, got ${numEmbeddings}, ${embeddingDim}`);
    this.weight = this.registerParameter('weight', randn([numEmbeddings, embeddingDim], { dtype: opts.dtype ?? 'f32' }).requiresGrad_(true));
  }
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}

/** Dropout that is active in training mode only. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

/** DropPath (stochastic depth), active in training mode only. */
export class DropPath extends Module {
  constructor(readonly p = 0) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropPath(x, this.p, this.training);
  }
}

/** GELU as a module: exact (erf) or `approximate: 'tanh'`. */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.gelu({ approximate: this.approximate });
  }
}

/** OpenAI CLIP's QuickGELU, x·σ(1.702x). */
export class QuickGELU extends Module {
  forward(x: Tensor): Tensor {
    return quickGelu(x);
  }
}
