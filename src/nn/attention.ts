// MultiheadAttention with torch.nn.MultiheadAttention's parameter names and layouts (in_proj_weight [3E, E],
// in_proj_bias [3E], out_proj.{weight,bias}, bias_k/bias_v [1, 1, E]), so upstream state dicts load as is.
// The q, k and v projections are also addressable one by one, as the children `q_proj`, `k_proj` and
// `v_proj` (views of the packed rows, owning no parameters), so an adapter can wrap each separately.
// The attention itself is the fused flash op (kiln.F.scaledDotProductAttention); weights are not returned.

import { where } from '../tensor/ops/elementwise.js';
import { scaledDotProductAttention } from '../tensor/ops/attention.js';
import { autocastParam } from '../tensor/autocast.js';
import { linear } from '../tensor/ops/linear.js';
import type { Tensor } from '../tensor/tensor.js';
import { xavierNormal_, xavierUniform_, zeros_ } from './init.js';
import { Linear } from './layers.js';
import { type LayerOptions, Module, childOptions } from './module.js';

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights while training (default 0). */
  readonly dropout?: number;
  /** Biases on the input and output projections (default true). */
  readonly bias?: boolean;
  /** Learned extra key/value token appended to the keys (PyTorch's add_bias_kv). */
  readonly addBiasKV?: boolean;
  /** Inputs and output as [N, L, E] instead of PyTorch's default [L, N, E]. */
  readonly batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** [L, S] or [N·H, L, S]: boolean (true = may NOT attend, PyTorch's MHA convention) or additive float. */
  readonly attnMask?: Tensor | null;
  /** [N, S]: boolean (true = padding, ignored) or additive float. */
  readonly keyPaddingMask?: Tensor | null;
  /** Mask keys after each query (PyTorch's is_causal); runs as the kernel's causal flag, no mask tensor. */
  readonly isCausal?: boolean;
  /** Must be false (the default here, unlike PyTorch): the fused kernel never forms the weights. */
  readonly needWeights?: boolean;
}

export interface MultiheadAttentionOutput {
  /** [L, N, E], or [N, L, E] with batchFirst. */
  readonly output: Tensor;
  /** Always null: averaged attention weights are not computed (PyTorch returns them when need_weights). */
  readonly weights: null;
}

/**
 * One of the q, k, v projections of a MultiheadAttention: x·W[rows]ᵀ + b[rows] over its slice of the packed
 * `in_proj_weight` / `in_proj_bias`, read from the owner at call time. It owns no parameters, so state dicts
 * keep upstream's packed names; replacing it (setSubmodule('q_proj', adapter)) changes that projection only.
 */
export class InProjection extends Module {
  constructor(
    private readonly owner: MultiheadAttention,
    /** 0 for q, 1 for k, 2 for v. */
    readonly index: 0 | 1 | 2,
  ) {
    super();
  }
  get inFeatures(): number {
    return this.owner.embedDim;
  }
  get outFeatures(): number {
    return this.owner.embedDim;
  }
  /** The [E, E] rows of in_proj_weight this projection uses (a view). */
  weightView(): Tensor {
    const E = this.owner.embedDim;
    return this.owner.inProjWeight.narrow(0, this.index * E, E);
  }
  forward(x: Tensor): Tensor {
    return this.owner.project(x, this.index * this.owner.embedDim, this.owner.embedDim);
  }
}

export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: MultiheadAttentionOptions & LayerOptions = {},
  ) {
    super();
    if (!Number.isInteger(embedDim) || !Number.isInteger(numHeads) || embedDim <= 0 || numHeads <= 0 || embedDim % numHeads !== 0)
      throw new Error(`MultiheadAttention: embed_dim (${embedDim}) must be a positive multiple of num_heads (${numHeads})`);
    const bias = opts.bias ?? true;
    this.headDim = embedDim / numHeads;
    this.dropout = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    const E = embedDim;
    // PyTorch's _reset_parameters: xavier_uniform_ on in_proj_weight, zeros on both biases, xavier_normal_ on bias_k/v;
    // out_proj.weight keeps nn.Linear's default init.
    this.createParameter('in_proj_weight', [3 * E, E], (t) => xavierUniform_(t), opts);
    if (bias) this.createParameter('in_proj_bias', [3 * E], zeros_, opts);
    else this.registerParameter('in_proj_bias', null);
    const outOpts = childOptions(opts, 'out_proj');
    this.registerModule('out_proj', new Linear(E, E, { bias, ...outOpts, init: { bias: zeros_, ...outOpts.init } }));
    for (const name of ['bias_k', 'bias_v']) {
      if (opts.addBiasKV) this.createParameter(name, [1, 1, E], (t) => xavierNormal_(t), opts);
      else this.registerParameter(name, null);
    }
    (['q_proj', 'k_proj', 'v_proj'] as const).forEach((name, i) => this.registerModule(name, new InProjection(this, i as 0 | 1 | 2)));
  }

  get inProjWeight(): Tensor {
    return this.tensor('in_proj_weight');
  }
  get inProjBias(): Tensor | null {
    return this.getParameter('in_proj_bias');
  }
  get biasK(): Tensor | null {
    return this.getParameter('bias_k');
  }
  get biasV(): Tensor | null {
    return this.getParameter('bias_v');
  }
  get outProj(): Linear {
    return this.child<Linear>('out_proj');
  }

  /** @internal x·W[rows]ᵀ + b[rows] for the rows [start, start + rows) of the packed in-projection. */
  project(x: Tensor, start: number, rows: number): Tensor {
    // Under autocast the rows are cut from the packed weight's cached f16 copy: one cast per step, not three.
    const [W, B] = [autocastParam(this.inProjWeight), this.inProjBias && autocastParam(this.inProjBias)];
    const w = W.narrow(0, start, rows);
    const b = B?.narrow(0, start, rows) ?? null;
    const out = linear(x, w, b);
    for (const t of [w, b]) t?.dispose();
    return out;
  }

  /** [L, N, E] (or [N, L, E]) → [N, H, L, hd], a view through strides (the kernels read it in place). */
  private heads(x: Tensor): Tensor {
    const [a, b] = x.shape as [number, number];
    const r = x.reshape([a, b, this.numHeads, this.headDim]);
    const out = r.permute(this.batchFirst ? [0, 2, 1, 3] : [1, 2, 0, 3]);
    r.dispose();
    return out;
  }

  /** The SDPA mask (boolean true = attend, or additive) from PyTorch MHA's attn_mask and key_padding_mask. */
  private mask(N: number, L: number, S: number, o: MultiheadAttentionForwardOptions): { mask: Tensor | null; temps: Tensor[] } {
    const temps: Tensor[] = [];
    const keep = (t: Tensor): Tensor => {
      temps.push(t);
      return t;
    };
    const additive = (m: Tensor): Tensor => (m.dtype === 'bool' ? keep(where(m, -Infinity, 0)) : m);
    let am = o.attnMask ?? null;
    let kpm = o.keyPaddingMask ?? null;
    if (am && am.ndim === 3) am = keep(am.reshape([N, this.numHeads, L, S]));
    if (kpm) kpm = keep(kpm.reshape([N, 1, 1, S]));
    if (am && kpm) return { mask: keep(additive(am).add(additive(kpm))), temps };
    const m = am ?? kpm;
    if (!m) return { mask: null, temps };
    return { mask: m.dtype === 'bool' ? keep(m.logicalNot()) : m, temps };
  }

  forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): MultiheadAttentionOutput {
    if (opts.needWeights) throw new Error('MultiheadAttention: needWeights is not supported (the fused kernel never forms the attention weights); use kiln.F.scaledDotProductAttention with { fused: false } to inspect them');
    const E = this.embedDim;
    for (const [name, t] of [['query', query], ['key', key], ['value', value]] as const)
      if (t.ndim !== 3 || t.shape[2] !== E) throw new Error(`MultiheadAttention: ${name} must be 3-D with last dimension ${E}, got [${t.shape.join(',')}]`);
    const N = query.shape[this.batchFirst ? 0 : 1]!;
    const L = query.shape[this.batchFirst ? 1 : 0]!;
    const S = key.shape[this.batchFirst ? 1 : 0]!;
    const temps: Tensor[] = [];
    let qp: Tensor;
    let kp: Tensor;
    let vp: Tensor;
    const slots = (['q_proj', 'k_proj', 'v_proj'] as const).map((n) => this.child(n));
    const packed = slots.every((m, i) => m instanceof InProjection && m.index === i && !m.hasHooks());
    if (packed && query === key && key === value) {
      const qkv = this.project(query, 0, 3 * E); // one matmul for self-attention; q, k, v are views of it
      [qp, kp, vp] = qkv.chunk(3, -1) as [Tensor, Tensor, Tensor];
      temps.push(qkv);
    } else {
      // A replaced or hooked projection (an adapter) runs as its own module.
      [qp, kp, vp] = ([query, key, value] as const).map((x, i) => (slots[i] as InProjection).call(x)) as [Tensor, Tensor, Tensor];
    }
    const [q, k, v] = [qp, kp, vp].map((t) => this.heads(t)) as [Tensor, Tensor, Tensor]; // [N, H, L|S, hd]
    temps.push(qp, kp, vp, q, k, v);
    const { mask, temps: maskTemps } = this.mask(N, L, S, opts);
    temps.push(...maskTemps);
    const hv = (b: Tensor | null): Tensor | null => (b ? b.reshape([this.numHeads, this.headDim]) : null);
    const biasK = hv(this.biasK);
    const biasV = hv(this.biasV);
    const o = scaledDotProductAttention(q, k, v, { mask, causal: opts.isCausal ?? false, biasK, biasV, dropout: this.training ? this.dropout : 0 }); // [N, H, L, hd]
    const ot = o.permute(this.batchFirst ? [0, 2, 1, 3] : [2, 0, 1, 3]);
    const merged = ot.reshape(this.batchFirst ? [N, L, E] : [L, N, E]);
    const output = this.outProj.call(merged);
    for (const t of [...temps, o, ot, merged, biasK, biasV]) t?.dispose();
    return { output, weights: null };
  }
}
