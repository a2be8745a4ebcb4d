// CLIP (OpenAI / OpenCLIP ViT towers) on Kiln with OpenCLIP's state-dict names: a vision transformer
// (conv1 patch stem, class token, ln_pre … ln_post, proj) and a causal text transformer pooled at the EOT
// token (argmax of the ids), plus the learnable logit_scale. Not the ResNet or timm/HF towers.

import { F, type Tensor, arange, cat, nn, tidy } from '../public.js';

// Models use only the public API.
const { Module, ModuleList, init, linearThen } = nn;
type ModuleList<M extends nn.Module = nn.Module> = nn.ModuleList<M>;
type Factory = nn.FactoryOptions;
const { normalize } = F;
import type { ClipConfig, ClipTowerConfig } from './config.js';
import { type BuildOptions, asWeightDType, causalMaskInit, checkpointBlocks, factory } from './build.js';
import { type LoadWeightsOptions, type LoadWeightsResult, type WeightSource, loadWeights } from './weights.js';

/** OpenCLIP's LayerNorm keeps nn.LayerNorm's eps. */
const LN_EPS = 1e-5;

type Activation = ClipConfig['activation'];

/** c_fc → GELU or QuickGELU → c_proj (+ the block's residual), each Linear one fused op with what follows it. */
class Mlp extends Module {
  constructor(f: Factory, width: number, hidden: number, readonly activation: Activation) {
    super();
    this.registerModule('c_fc', new nn.Linear(width, hidden, f));
    this.registerModule('c_proj', new nn.Linear(hidden, width, f));
  }
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    const h = linearThen(this.child('c_fc'), x, { activation: this.activation }); // [B, L, 4W]
    return linearThen(this.child('c_proj'), h, { residual }); // [B, L, W]
  }
}

/** ResidualAttentionBlock: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
class ResidualAttentionBlock extends Module {
  constructor(f: Factory, t: ClipTowerConfig, activation: Activation) {
    super();
    this.registerModule('ln_1', new nn.LayerNorm(t.width, LN_EPS, f));
    this.registerModule('attn', new nn.MultiheadAttention(t.width, t.heads, { ...f, batchFirst: true }));
    this.registerModule('ln_2', new nn.LayerNorm(t.width, LN_EPS, f));
    this.registerModule('mlp', new Mlp(f, t.width, Math.round(t.width * t.mlpRatio), activation));
  }
  forward(x: Tensor, causal: boolean): Tensor {
    const n1 = this.child<nn.LayerNorm>('ln_1').call(x);
    const h = x.add(this.child<nn.MultiheadAttention>('attn').call(n1, n1, n1, { isCausal: causal }).output); // [B, L, W]
    return this.child<Mlp>('mlp').call(this.child<nn.LayerNorm>('ln_2').call(h), h); // h + mlp(ln_2(h))
  }
}

class Transformer extends Module {
  constructor(f: Factory, t: ClipTowerConfig, activation: Activation) {
    super();
    this.registerModule('resblocks', new ModuleList([...Array(t.layers).keys()].map(() => new ResidualAttentionBlock(f, t, activation))));
  }
  get resblocks(): ModuleList<ResidualAttentionBlock> {
    return this.child('resblocks');
  }
  forward(x: Tensor, causal = false): Tensor {
    let h = x;
    for (const block of this.resblocks) h = block.call(h, causal);
    return h;
  }
}

/** VisionTransformer: patches + class token + positions → ln_pre → transformer → ln_post(CLS) → ·proj. */
class VisionTransformer extends Module {
  constructor(f: Factory, c: ClipConfig) {
    super();
    const v = c.vision;
    const scale = v.width ** -0.5;
    const grid = v.imageSize / v.patchSize;
    this.registerModule('conv1', new nn.Conv2d(3, v.width, v.patchSize, { ...f, stride: v.patchSize, bias: false }));
    this.createParameter('class_embedding', [v.width], (t) => init.normal_(t, 0, scale), f);
    this.createParameter('positional_embedding', [grid * grid + 1, v.width], (t) => init.normal_(t, 0, scale), f);
    this.registerModule('ln_pre', new nn.LayerNorm(v.width, LN_EPS, f));
    this.registerModule('transformer', new Transformer(f, v, c.activation));
    this.registerModule('ln_post', new nn.LayerNorm(v.width, LN_EPS, f));
    this.createParameter('proj', [v.width, c.embedDim], (t) => init.normal_(t, 0, scale), f);
  }
  get transformer(): Transformer {
    return this.child('transformer');
  }
  /** images [B, 3, H, W] → features [B, E]. */
  forward(images: Tensor): Tensor {
    const conv1 = this.child<nn.Conv2d>('conv1');
    const patches = conv1.call(asWeightDType(images, conv1.weight).contiguous()).flatten(2).transpose(1, 2); // [B, N, W]
    const [B, N, W] = patches.shape as [number, number, number];
    const pos = this.tensor('positional_embedding');
    if (pos.shape[0] !== N + 1) throw new Error(`CLIP visual: ${N} patches need ${N + 1} positions, the model has ${pos.shape[0]} (use the configured image size)`);
    const cls = this.tensor('class_embedding').reshape([1, 1, W]).expand([B, 1, W]);
    const x = this.transformer.call(this.child<nn.LayerNorm>('ln_pre').call(cat([cls, patches], 1).add(pos))); // [B, N+1, W]
    return this.child<nn.LayerNorm>('ln_post').call(x.select(1, 0)).matmul(this.tensor('proj')); // [B, E]
  }
}

export interface ClipOutput {
  /** L2-normalised image features [B, E]. */
  readonly imageFeatures: Tensor;
  /** L2-normalised text features [B, E]. */
  readonly textFeatures: Tensor;
  /** exp(logit_scale), a scalar tensor. */
  readonly logitScale: Tensor;
}

/** OpenCLIP's CLIP: `visual` plus the text tower's token_embedding, positional_embedding, transformer, ln_final, text_projection. */
export class ClipModel extends Module {
  constructor(readonly config: ClipConfig, opts: BuildOptions = {}) {
    super();
    const f = factory(opts, 'ClipModel');
    const t = config.text;
    this.registerModule('visual', new VisionTransformer(f, config));
    this.registerModule('transformer', new Transformer(f, t, config.activation));
    this.registerModule('token_embedding', new nn.Embedding(t.vocabSize, t.width, { ...f, init: { weight: (x) => init.normal_(x, 0, 0.02) } }));
    this.createParameter('positional_embedding', [t.contextLength, t.width], (x) => init.normal_(x, 0, 0.01), f);
    this.registerModule('ln_final', new nn.LayerNorm(t.width, LN_EPS, f));
    this.createParameter('text_projection', [t.width, config.embedDim], (x) => init.normal_(x, 0, t.width ** -0.5), f);
    this.createParameter('logit_scale', [], (x) => init.constant_(x, Math.log(1 / 0.07)), f);
    // Not in OpenCLIP's state dict; the kernel applies it as `causal`.
    this.createBuffer('attn_mask', [t.contextLength, t.contextLength], causalMaskInit(t.contextLength), f, false);
    if (opts.gradCheckpointing) this.setGradCheckpointing();
  }

  /** Activation checkpointing per residual block of both towers (OpenCLIP's set_grad_checkpointing). */
  setGradCheckpointing(enable = true): this {
    checkpointBlocks(this, ResidualAttentionBlock, enable);
    return this;
  }

  get visual(): VisionTransformer {
    return this.child('visual');
  }
  get transformer(): Transformer {
    return this.child('transformer');
  }

  /** images [B, 3, H, W] → image features [B, E] (normalised with `normalize: true`). */
  encodeImage(images: Tensor, opts: { normalize?: boolean } = {}): Tensor {
    return tidy(() => {
      const f = this.visual.call(images);
      return opts.normalize ? normalize(f, { dim: -1 }) : f;
    });
  }

  /** ids [B, contextLength] (i32) → text features [B, E], pooled at the EOT token (the largest id). */
  encodeText(ids: Tensor, opts: { normalize?: boolean } = {}): Tensor {
    const ctxLen = this.config.text.contextLength;
    if (ids.ndim !== 2 || ids.shape[1] !== ctxLen) throw new Error(`CLIP text: expected token ids [B, ${ctxLen}], got [${ids.shape.join(',')}]`);
    return tidy(() => {
      const [B, L] = ids.shape as [number, number];
      const tokens = this.child<nn.Embedding>('token_embedding').call(ids).add(this.tensor('positional_embedding'));
      const x = this.transformer.call(tokens, true); // [B, L, W]
      const h = this.child<nn.LayerNorm>('ln_final').call(x);
      const rows = arange(B).mul(L).add(ids.argmax(-1)); // [B] flat index of each EOT token
      const f = h.reshape([B * L, -1]).indexSelect(0, rows).matmul(this.tensor('text_projection')); // [B, E]
      return opts.normalize ? normalize(f, { dim: -1 }) : f;
    });
  }

  /** Normalised features of both towers and exp(logit_scale) (OpenCLIP's output dict). */
  forward(images: Tensor, ids: Tensor): ClipOutput {
    return {
      imageFeatures: this.encodeImage(images, { normalize: true }),
      textFeatures: this.encodeText(ids, { normalize: true }),
      logitScale: this.tensor('logit_scale').exp(),
    };
  }

  /** Streams weights in by OpenCLIP name (see kiln.models.loadWeights); takes ownership of each tensor. */
  loadWeights(source: WeightSource, opts: LoadWeightsOptions = {}): Promise<LoadWeightsResult> {
    return loadWeights(this, source, opts);
  }
}
