// CLIP (OpenAI / OpenCLIP ViT towers) on Kiln with OpenCLIP's state-dict names: a vision transformer
// (conv1 patch stem, class token, ln_pre … ln_post, proj) and a causal text transformer pooled at the EOT
// token (argmax of the ids), plus the learnable logit_scale. Not the ResNet or timm/HF towers.

import { F, type Tensor, arange, cat, nn, tensor, tidy } from '../public.js';

// Models use only the public API.
const { Module, ModuleList, init } = nn;
type Module = nn.Module;
type ModuleList<M extends nn.Module = nn.Module> = nn.ModuleList<M>;
const { embedding, normalize, quickGelu } = F;
import type { ClipConfig, ClipTowerConfig } from './config.js';
import { type BuildOptions, BuildContext, Layer, LayerNorm, Linear, PatchConv, SelfAttention } from './layers.js';
import { type LoadWeightsOptions, type LoadWeightsResult, type WeightSource, loadWeights } from './weights.js';

/** OpenCLIP's LayerNorm keeps nn.LayerNorm's eps. */
const LN_EPS = 1e-5;

type Activation = ClipConfig['activation'];

/** c_fc → GELU or QuickGELU → c_proj. */
class Mlp extends Layer {
  readonly cFc: Linear;
  readonly cProj: Linear;
  constructor(ctx: BuildContext, width: number, hidden: number, readonly activation: Activation) {
    super(ctx);
    this.cFc = this.registerModule('c_fc', new Linear(ctx, width, hidden));
    this.cProj = this.registerModule('c_proj', new Linear(ctx, hidden, width));
  }
  forward(x: Tensor): Tensor {
    const h = this.cFc.forward(x); // [B, L, 4W]
    return this.cProj.forward(this.activation === 'quick_gelu' ? quickGelu(h) : h.gelu());
  }
}

/** ResidualAttentionBlock: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
class ResidualAttentionBlock extends Layer {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: Mlp;
  constructor(ctx: BuildContext, t: ClipTowerConfig, activation: Activation) {
    super(ctx);
    this.ln1 = this.registerModule('ln_1', new LayerNorm(ctx, t.width, LN_EPS));
    this.attn = this.registerModule('attn', new SelfAttention(ctx, t.width, t.heads, false));
    this.ln2 = this.registerModule('ln_2', new LayerNorm(ctx, t.width, LN_EPS));
    this.mlp = this.registerModule('mlp', new Mlp(ctx, t.width, Math.round(t.width * t.mlpRatio), activation));
  }
  forward(x: Tensor, causal: boolean): Tensor {
    const h = x.add(this.attn.forward(this.ln1.forward(x), causal)); // [B, L, W]
    return h.add(this.mlp.forward(this.ln2.forward(h)));
  }
}

class Transformer extends Module {
  readonly resblocks: ModuleList<ResidualAttentionBlock>;
  constructor(ctx: BuildContext, t: ClipTowerConfig, activation: Activation) {
    super();
    this.resblocks = this.registerModule('resblocks', new ModuleList([...Array(t.layers).keys()].map(() => new ResidualAttentionBlock(ctx, t, activation))));
  }
  forward(x: Tensor, causal = false): Tensor {
    let h = x;
    for (const block of this.resblocks) h = block.forward(h, causal);
    return h;
  }
}

/** VisionTransformer: patches + class token + positions → ln_pre → transformer → ln_post(CLS) → ·proj. */
class VisionTransformer extends Layer {
  readonly conv1: PatchConv;
  readonly lnPre: LayerNorm;
  readonly transformer: Transformer;
  readonly lnPost: LayerNorm;
  constructor(ctx: BuildContext, c: ClipConfig) {
    super(ctx);
    const v = c.vision;
    const scale = v.width ** -0.5;
    const grid = v.imageSize / v.patchSize;
    this.conv1 = this.registerModule('conv1', new PatchConv(ctx, 3, v.width, [v.patchSize, v.patchSize]));
    this.param('class_embedding', [v.width], (t) => init.normal_(t, 0, scale));
    this.param('positional_embedding', [grid * grid + 1, v.width], (t) => init.normal_(t, 0, scale));
    this.lnPre = this.registerModule('ln_pre', new LayerNorm(ctx, v.width, LN_EPS));
    this.transformer = this.registerModule('transformer', new Transformer(ctx, v, c.activation));
    this.lnPost = this.registerModule('ln_post', new LayerNorm(ctx, v.width, LN_EPS));
    this.param('proj', [v.width, c.embedDim], (t) => init.normal_(t, 0, scale));
  }
  /** images [B, 3, H, W] → features [B, E]. */
  forward(images: Tensor): Tensor {
    const patches = this.conv1.forward(images).flatten(2).transpose(1, 2); // [B, N, W]
    const [B, N, W] = patches.shape as [number, number, number];
    const pos = this.w('positional_embedding');
    if (pos.shape[0] !== N + 1) throw new Error(`CLIP visual: ${N} patches need ${N + 1} positions, the model has ${pos.shape[0]} (use the configured image size)`);
    const cls = this.w('class_embedding').reshape([1, 1, W]).expand([B, 1, W]);
    const x = this.transformer.forward(this.lnPre.forward(cat([cls, patches], 1).add(pos))); // [B, N+1, W]
    return this.lnPost.forward(x.select(1, 0)).matmul(this.w('proj')); // [B, E]
  }
}

class TokenEmbedding extends Layer {
  constructor(ctx: BuildContext, vocab: number, width: number) {
    super(ctx);
    this.param('weight', [vocab, width], (t) => init.normal_(t, 0, 0.02));
  }
}

/** -inf above the diagonal (CLIP's build_causal_mask). */
function causalMask(n: number): Tensor {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = -Infinity;
  return tensor(m, { shape: [n, n] });
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
export class ClipModel extends Layer {
  readonly visual: VisionTransformer;
  readonly transformer: Transformer;
  readonly tokenEmbedding: TokenEmbedding;
  readonly lnFinal: LayerNorm;

  constructor(readonly config: ClipConfig, opts: BuildOptions = {}) {
    super(new BuildContext(opts));
    const ctx = this.ctx;
    const t = config.text;
    this.visual = this.registerModule('visual', new VisionTransformer(ctx, config));
    this.transformer = this.registerModule('transformer', new Transformer(ctx, t, config.activation));
    this.tokenEmbedding = this.registerModule('token_embedding', new TokenEmbedding(ctx, t.vocabSize, t.width));
    this.param('positional_embedding', [t.contextLength, t.width], (x) => init.normal_(x, 0, 0.01));
    this.lnFinal = this.registerModule('ln_final', new LayerNorm(ctx, t.width, LN_EPS));
    this.param('text_projection', [t.width, config.embedDim], (x) => init.normal_(x, 0, t.width ** -0.5));
    this.param('logit_scale', [], (x) => init.constant_(x, Math.log(1 / 0.07)));
    this.constBuffer('attn_mask', causalMask(t.contextLength), false); // not in OpenCLIP's state dict; the kernel applies it as `causal`
  }

  /** images [B, 3, H, W] → image features [B, E] (normalised with `normalize: true`). */
  encodeImage(images: Tensor, opts: { normalize?: boolean } = {}): Tensor {
    return tidy(() => {
      const f = this.visual.forward(images);
      return opts.normalize ? normalize(f, { dim: -1 }) : f;
    });
  }

  /** ids [B, contextLength] (i32) → text features [B, E], pooled at the EOT token (the largest id). */
  encodeText(ids: Tensor, opts: { normalize?: boolean } = {}): Tensor {
    const ctxLen = this.config.text.contextLength;
    if (ids.ndim !== 2 || ids.shape[1] !== ctxLen) throw new Error(`CLIP text: expected token ids [B, ${ctxLen}], got [${ids.shape.join(',')}]`);
    return tidy(() => {
      const [B, L] = ids.shape as [number, number];
      const x = this.transformer.forward(embedding(ids, this.tokenEmbedding.w('weight')).add(this.w('positional_embedding')), true); // [B, L, W]
      const h = this.lnFinal.forward(x);
      const rows = arange(B).mul(L).add(ids.argmax(-1)); // [B] flat index of each EOT token
      const f = h.reshape([B * L, -1]).indexSelect(0, rows).matmul(this.w('text_projection')); // [B, E]
      return opts.normalize ? normalize(f, { dim: -1 }) : f;
    });
  }

  /** Normalised features of both towers and exp(logit_scale) (OpenCLIP's output dict). */
  forward(images: Tensor, ids: Tensor): ClipOutput {
    return {
      imageFeatures: this.encodeImage(images, { normalize: true }),
      textFeatures: this.encodeText(ids, { normalize: true }),
      logitScale: this.w('logit_scale').exp(),
    };
  }

  /** Streams weights in by OpenCLIP name (see kiln.models.loadWeights); takes ownership of each tensor. */
  loadWeights(source: WeightSource, opts: LoadWeightsOptions = {}): Promise<LoadWeightsResult> {
    return loadWeights(this, source, opts);
  }
}
