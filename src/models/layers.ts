// Model-side layers whose parameters may be deferred: with `deferInit` each parameter is a shape-only
// placeholder (a stride-0 view of one shared element) until `loadWeights` streams the real tensor in.
// Not a second nn library: only what ImageBind and CLIP need, with torch.nn's state-dict names.

import { F, type Tensor, full, nn } from '../public.js';

// Models use only the public API.
const { Module, init } = nn;
type Module = nn.Module;
const { conv2d, conv3d, layerNorm, scaledDotProductAttention } = F;

export type ParamDType = 'f32' | 'f16';

/** How a model is built: allocated and initialised (default), or as shape-only placeholders. */
export interface BuildOptions {
  /** Shape-only placeholders instead of allocated, initialised weights (same as device: 'meta'). */
  readonly deferInit?: boolean;
  /** 'meta' builds placeholders, as PyTorch's meta device. */
  readonly device?: 'gpu' | 'meta';
  /** The dtype of parameters and float buffers (default f32). */
  readonly dtype?: ParamDType;
}

/** The resolved build context shared by every layer of one model. */
export class BuildContext {
  readonly deferred: boolean;
  readonly dtype: ParamDType;
  private shared: Tensor | null = null;
  constructor(opts: BuildOptions = {}) {
    this.deferred = opts.deferInit === true || opts.device === 'meta';
    this.dtype = opts.dtype ?? 'f32';
  }
  /** A [shape] view of a single shared element: the placeholder of a deferred tensor (no storage of its own). */
  placeholder(shape: readonly number[]): Tensor {
    this.shared ??= full([1], 0, { dtype: this.dtype });
    const one = this.shared.reshape(shape.map(() => 1));
    const view = one.expand(shape);
    one.dispose();
    return view;
  }
}

/** A layer whose tensors are registered by upstream name and can be replaced when weights stream in. */
export class Layer extends Module {
  private readonly owned = new Map<string, { tensor: Tensor; param: boolean; placeholder: boolean; persistent: boolean }>();
  constructor(protected readonly ctx: BuildContext) {
    super();
  }

  /** Registers parameter `name` of `shape`, initialised by `fill` unless deferred. */
  protected param(name: string, shape: readonly number[], fill: (t: Tensor) => void): Tensor {
    const t = this.make(shape, fill, true);
    this.registerParameter(name, t);
    this.owned.set(name, { tensor: t, param: true, placeholder: this.ctx.deferred, persistent: true });
    return t;
  }

  /** Registers a float buffer (persistent: part of the state dict, as upstream's register_buffer). */
  protected buffer(name: string, shape: readonly number[], fill: (t: Tensor) => void, persistent = true): Tensor {
    const t = this.make(shape, fill, false);
    this.registerBuffer(name, t, { persistent });
    this.owned.set(name, { tensor: t, param: false, placeholder: this.ctx.deferred, persistent });
    return t;
  }

  /** Registers a buffer whose value is known at build time (small: masks), allocated even when deferred. */
  protected constBuffer(name: string, t: Tensor, persistent = true): Tensor {
    this.registerBuffer(name, t, { persistent });
    this.owned.set(name, { tensor: t, param: false, placeholder: false, persistent });
    return t;
  }

  private make(shape: readonly number[], fill: (t: Tensor) => void, grad: boolean): Tensor {
    if (this.ctx.deferred) return this.ctx.placeholder(shape);
    const t = full(shape, 0, { dtype: this.ctx.dtype });
    fill(t);
    return grad ? t.requiresGrad_(true) : t;
  }

  /** The current tensor registered as `name` (after loading, the loaded one). */
  w(name: string): Tensor {
    const e = this.owned.get(name);
    if (!e) throw new Error(`${this.constructor.name}: no tensor named '${name}'`);
    return e.tensor;
  }

  /** Names of this layer's own tensors, and whether each is a parameter. */
  ownTensors(): [string, { readonly shape: readonly number[]; readonly dtype: string; readonly param: boolean }][] {
    return [...this.owned].map(([n, e]) => [n, { shape: e.tensor.shape, dtype: e.tensor.dtype, param: e.param }]);
  }

  /** Whether tensor `name` belongs in the state dict (parameters and persistent buffers). */
  isPersistent(name: string): boolean {
    return this.owned.get(name)?.persistent ?? false;
  }

  /** Installs `t` as tensor `name` (taking ownership); a previous real tensor is disposed. */
  replaceTensor(name: string, t: Tensor): void {
    const e = this.owned.get(name);
    if (!e) throw new Error(`${this.constructor.name}: no tensor named '${name}'`);
    if (e.param && !t.requiresGrad) t.requiresGrad_(true);
    this.setTensor(name, t);
    e.tensor.dispose();
    this.owned.set(name, { ...e, tensor: t, placeholder: false });
  }

  /** True while any tensor of this layer is still a placeholder. */
  get hasPlaceholders(): boolean {
    return [...this.owned.values()].some((e) => e.placeholder);
  }
}

/** y = x·Wᵀ + b, `weight` [out, in], `bias` [out]; init 'torch' (nn.Linear's default) or 'xavier' (jax-style). */
export class Linear extends Layer {
  readonly hasBias: boolean;
  constructor(ctx: BuildContext, readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; init?: 'torch' | 'xavier' } = {}) {
    super(ctx);
    this.hasBias = opts.bias ?? true;
    const xavier = opts.init === 'xavier';
    const b = 1 / Math.sqrt(inFeatures);
    this.param('weight', [outFeatures, inFeatures], (t) => (xavier ? init.xavierUniform_(t) : init.kaimingUniform_(t, Math.sqrt(5))));
    if (this.hasBias) this.param('bias', [outFeatures], (t) => (xavier ? init.zeros_(t) : init.uniform_(t, -b, b)));
  }
  forward(x: Tensor): Tensor {
    const y = x.matmul(this.w('weight').mT); // [..., out]
    return this.hasBias ? y.add(this.w('bias')) : y;
  }
}

/** LayerNorm over the last dim with `weight` and `bias`. */
export class LayerNorm extends Layer {
  constructor(ctx: BuildContext, readonly dim: number, readonly eps: number) {
    super(ctx);
    this.param('weight', [dim], (t) => init.ones_(t));
    this.param('bias', [dim], (t) => init.zeros_(t));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, [this.dim], this.w('weight'), this.w('bias'), this.eps);
  }
}

/** A bias-free patchifying convolution (kernel = stride unless given): 2-D or 3-D by the kernel's length. */
export class PatchConv extends Layer {
  constructor(ctx: BuildContext, inChannels: number, outChannels: number, readonly kernel: readonly number[], readonly stride: readonly number[] = kernel) {
    super(ctx);
    const fanIn = inChannels * kernel.reduce((a, b) => a * b, 1);
    const bound = Math.sqrt(6 / ((1 + 5) * fanIn)); // kaiming_uniform(a=√5), nn.Conv's default
    this.param('weight', [outChannels, inChannels, ...kernel], (t) => init.uniform_(t, -bound, bound));
  }
  /** [B, C, (T,) H, W] → [B, O, (T',) H', W']. */
  forward(x: Tensor): Tensor {
    const conv = this.kernel.length === 3 ? conv3d : conv2d;
    return conv(x.contiguous(), this.w('weight'), null, { stride: this.stride });
  }
}

/**
 * Self-attention with torch.nn.MultiheadAttention's names (in_proj_weight [3E, E], in_proj_bias,
 * out_proj.{weight,bias}, bias_k/bias_v [1, 1, E]) on batch-first input, through the fused SDPA kernel.
 */
export class SelfAttention extends Layer {
  readonly outProj: Linear;
  readonly headDim: number;
  constructor(ctx: BuildContext, readonly dim: number, readonly numHeads: number, readonly addBiasKV: boolean, outInit: 'torch' | 'xavier' = 'torch') {
    super(ctx);
    if (dim % numHeads !== 0) throw new Error(`SelfAttention: embed_dim (${dim}) must be a multiple of num_heads (${numHeads})`);
    this.headDim = dim / numHeads;
    this.param('in_proj_weight', [3 * dim, dim], (t) => init.xavierUniform_(t));
    this.param('in_proj_bias', [3 * dim], (t) => init.zeros_(t));
    if (addBiasKV) {
      this.param('bias_k', [1, 1, dim], (t) => init.xavierNormal_(t));
      this.param('bias_v', [1, 1, dim], (t) => init.xavierNormal_(t));
    }
    this.outProj = this.registerModule('out_proj', new Linear(ctx, dim, dim, { init: outInit }));
    if (!ctx.deferred && outInit === 'torch') init.zeros_(this.outProj.w('bias'));
  }
  /** x [B, L, E] → [B, L, E]; `causal` masks keys after each query (upstream's -inf upper-triangular mask). */
  forward(x: Tensor, causal = false): Tensor {
    const [B, L, E] = x.shape as [number, number, number];
    const H = this.numHeads;
    const qkv = x.matmul(this.w('in_proj_weight').mT).add(this.w('in_proj_bias')); // [B, L, 3E]
    const heads = qkv.reshape([B, L, 3, H, this.headDim]).permute([2, 0, 3, 1, 4]); // [3, B, H, L, hd]
    const [q, k, v] = [0, 1, 2].map((i) => heads.select(0, i)) as [Tensor, Tensor, Tensor];
    const kv = (n: string): Tensor | null => (this.addBiasKV ? this.w(n).reshape([H, this.headDim]) : null);
    const o = scaledDotProductAttention(q, k, v, { causal, biasK: kv('bias_k'), biasV: kv('bias_v') }); // [B, H, L, hd]
    return this.outProj.forward(o.permute([0, 2, 1, 3]).reshape([B, L, E]));
  }
}
