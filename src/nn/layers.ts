// Basic layers and containers: Linear, LayerNorm, Embedding, Dropout, DropPath, GELU, QuickGELU, Identity,
// Sequential, ModuleList, ModuleDict (torch.nn's names, parameter names and layouts, so upstream state dicts load).

import { type LinearOptions, dropPath, dropout, embedding, layerNorm, linear, quickGelu } from './functional.js';
import { linearActivation } from '../tensor/ops/linear.js';
import type { Tensor } from '../tensor/tensor.js';
import { linearDefaults, normal_, ones_, zeros_ } from './init.js';
import { type LayerOptions, Module } from './module.js';

/** A module with a one-tensor forward, the shape Sequential chains. */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

/**
 * y = x·Wᵀ + b with `weight` [out, in] and `bias` [out] (PyTorch's layout and default init). `forward(x, opts)`
 * also applies an activation and adds a residual in the same fused op (F.linear's options).
 */
export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } & LayerOptions = {},
  ) {
    super();
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures <= 0 || outFeatures <= 0)
      throw new Error(`Linear: in_features and out_features must be positive integers, got ${inFeatures}, ${outFeatures}`);
    const init = linearDefaults(inFeatures);
    this.createParameter('weight', [outFeatures, inFeatures], init.weight, opts);
    if (opts.bias === false) this.registerParameter('bias', null);
    else this.createParameter('bias', [outFeatures], init.bias, opts);
  }

  get weight(): Tensor {
    return this.tensor('weight');
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }

  forward(x: Tensor, opts: LinearOptions = {}): Tensor {
    const last = x.shape[x.ndim - 1];
    if (last !== this.inFeatures)
      throw new Error(`Linear: expected input with last dimension ${this.inFeatures}, got shape [${x.shape.join(',')}]`);
    return linear(x, this.weight, this.bias, opts); // [..., out]; the transpose is read in place
  }
}

/**
 * act(fc(x)) + residual: one fused op when `fc` is a plain Linear without hooks; otherwise `fc.call(x)` (a
 * swapped-in layer such as QuantizedLinear, or hooks that must see fc's own output) and the rest composed.
 * @example const y = kiln.nn.linearThen(mlp.c_proj, h, { residual: x }); // x + c_proj(h)
 */
export function linearThen(fc: Module, x: Tensor, opts: LinearOptions): Tensor {
  if (fc instanceof Linear && !fc.hasHooks()) return fc.call(x, opts);
  const act = linearActivation('linearThen', opts);
  const y = (fc as UnaryModule).call(x);
  const h = act === 'gelu' ? y.gelu() : act === 'quick_gelu' ? quickGelu(y) : y;
  if (h !== y) y.dispose();
  if (!opts.residual) return h;
  const out = opts.residual.add(h);
  h.dispose();
  return out;
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Runs its children in order; children are named '0', '1', … as in PyTorch. */
export class Sequential extends Module {
  constructor(...layers: UnaryModule[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.children() as UnaryModule[]) {
      const next = m.call(h);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h;
  }
  get length(): number {
    return this.children().length;
  }
  at(i: number): UnaryModule {
    const n = this.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new Error(`Sequential: index ${i} is out of range for ${n} layers`);
    return this.child<UnaryModule>(String(i < 0 ? i + n : i));
  }
}

/** A list of submodules named '0', '1', …. */
export class ModuleList<M extends Module = Module> extends Module {
  constructor(items: readonly M[] = []) {
    super();
    for (const m of items) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.length), m);
    return this;
  }
  get length(): number {
    return this.children().length;
  }
  /** The module at `i` (negative counts from the end): whatever setSubmodule installed there. */
  at(i: number): M {
    const n = this.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new Error(`ModuleList: index ${i} is out of range for ${n} modules`);
    return this.child<M>(String(i < 0 ? i + n : i));
  }
  [Symbol.iterator](): Iterator<M> {
    return (this.children() as M[])[Symbol.iterator]();
  }
}

/** Submodules under string keys (ImageBind's `modality_trunks.vision`, …). */
export class ModuleDict<M extends Module = Module> extends Module {
  constructor(items: Readonly<Record<string, M>> = {}) {
    super();
    for (const [k, m] of Object.entries(items)) this.set(k, m);
  }
  set(key: string, m: M): this {
    if (this.has(key)) this.setSubmodule(key, m);
    else this.registerModule(key, m);
    return this;
  }
  get(key: string): M {
    if (!this.has(key)) throw new Error(`ModuleDict: no module '${key}' (keys: ${this.keys().join(', ')})`);
    return this.child<M>(key);
  }
  has(key: string): boolean {
    return this.keys().includes(key);
  }
  keys(): string[] {
    return [...this.namedChildren()].map(([k]) => k);
  }
}

/** LayerNorm over the trailing `normalizedShape` dims, with `weight` and `bias` (PyTorch's names). */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  constructor(
    normalizedShape: number | readonly number[],
    readonly eps = 1e-5,
    opts: { elementwiseAffine?: boolean; bias?: boolean } & LayerOptions = {},
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    const affine = opts.elementwiseAffine ?? true;
    if (affine) this.createParameter('weight', this.normalizedShape, ones_, opts);
    else this.registerParameter('weight', null);
    if (affine && opts.bias !== false) this.createParameter('bias', this.normalizedShape, zeros_, opts);
    else this.registerParameter('bias', null);
  }
  get weight(): Tensor | null {
    return this.getParameter('weight');
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** A lookup table `weight` [numEmbeddings, embeddingDim], initialised N(0, 1) like PyTorch. */
export class Embedding extends Module {
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: LayerOptions = {},
  ) {
    super();
    if (!Number.isInteger(numEmbeddings) || !Number.isInteger(embeddingDim) || numEmbeddings <= 0 || embeddingDim <= 0)
      throw new Error(`Embedding: num_embeddings and embedding_dim must be positive integers, got ${numEmbeddings}, ${embeddingDim}`);
    this.createParameter('weight', [numEmbeddings, embeddingDim], normal_, opts);
  }
  get weight(): Tensor {
    return this.tensor('weight');
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
