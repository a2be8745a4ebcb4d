// ImageBind (facebookresearch/ImageBind) on Kiln: six independent modality encoders (vision, text, audio,
// depth, thermal, IMU) into one embedding space, with upstream's state-dict names. Read top-down: blocks →
// trunk → preprocessors → heads → postprocessors → the model. Inference semantics and training-ready
// autograd; no tokenizer or audio front end here (inputs are token ids, mel spectrograms, pixels).

import { F, type Tensor, arange, cat, nn, tensor, tidy } from '../public.js';

// Models use only the public API.
const { Module, ModuleDict, ModuleList, init } = nn;
type Module = nn.Module;
type ModuleDict<M extends nn.Module = nn.Module> = nn.ModuleDict<M>;
type ModuleList<M extends nn.Module = nn.Module> = nn.ModuleList<M>;
const { dropPath, dropout, embedding, normalize } = F;
import type { ImageBindConfig, LayerScaleConfig } from './config.js';
import { type BuildOptions, BuildContext, Layer, LayerNorm, Linear, PatchConv, SelfAttention } from './layers.js';
import { type LoadWeightsOptions, type LoadWeightsResult, type WeightSource, loadWeights } from './weights.js';

export const MODALITIES = ['vision', 'text', 'audio', 'depth', 'thermal', 'imu'] as const;
export type Modality = (typeof MODALITIES)[number];

/** Trunk, pre-transformer and head LayerNorms (SimpleTransformer's _LAYER_NORM); the stems keep nn.LayerNorm's 1e-5. */
const LN_EPS = 1e-6;
const STEM_LN_EPS = 1e-5;
/** LearnableLogitScaling's max_logit_scale: the forward clips exp(s) at 100 (so its gradient is 0 above). */
const MAX_LOGIT_SCALE = 100;

// ---- trunk: pre-LN blocks ---------------------------------------------------------------------------------

/** fc1 → exact GELU → fc2 (xavier-initialised, as SimpleTransformer's "jax" init). */
class Mlp extends Layer {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(ctx: BuildContext, dim: number, hidden: number) {
    super(ctx);
    this.fc1 = this.registerModule('fc1', new Linear(ctx, dim, hidden, { init: 'xavier' }));
    this.fc2 = this.registerModule('fc2', new Linear(ctx, hidden, dim, { init: 'xavier' }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).gelu()); // [B, L, D]
  }
}

/** BlockWithMasking: x + DropPath(attn(norm_1(x)))·γ1, then x + DropPath(mlp(norm_2(x)))·γ2. */
class Block extends Layer {
  readonly attn: SelfAttention;
  readonly norm1: LayerNorm;
  readonly mlp: Mlp;
  readonly norm2: LayerNorm;
  constructor(ctx: BuildContext, dim: number, heads: number, biasKV: boolean, readonly dropPathRate: number, readonly layerScale: LayerScaleConfig | null) {
    super(ctx);
    this.attn = this.registerModule('attn', new SelfAttention(ctx, dim, heads, biasKV, 'xavier'));
    this.norm1 = this.registerModule('norm_1', new LayerNorm(ctx, dim, LN_EPS));
    this.mlp = this.registerModule('mlp', new Mlp(ctx, dim, 4 * dim));
    this.norm2 = this.registerModule('norm_2', new LayerNorm(ctx, dim, LN_EPS));
    if (layerScale) {
      const shape = layerScale.type === 'per_channel' ? [1, 1, dim] : [1, 1, 1];
      this.param('layer_scale_gamma1', shape, (t) => init.constant_(t, layerScale.init));
      this.param('layer_scale_gamma2', shape, (t) => init.constant_(t, layerScale.init));
    }
  }
  private branch(y: Tensor, gamma: string): Tensor {
    const d = dropPath(y, this.dropPathRate, this.training);
    return this.layerScale ? d.mul(this.w(gamma)) : d;
  }
  forward(x: Tensor, causal: boolean): Tensor {
    const h = x.add(this.branch(this.attn.forward(this.norm1.forward(x), causal), 'layer_scale_gamma1')); // [B, L, D]
    return h.add(this.branch(this.mlp.forward(this.norm2.forward(h)), 'layer_scale_gamma2'));
  }
}

/** SimpleTransformer: optional pre-LN (vision's ln_pre), then blocks with DropPath rates linspace(0, rate, n). */
class Trunk extends Module {
  readonly preLN: LayerNorm | null = null;
  readonly blocks: ModuleList<Block>;
  constructor(ctx: BuildContext, dim: number, depth: number, heads: number, opts: { preLN: boolean; biasKV: boolean; dropPath: number; layerScale: LayerScaleConfig | null }) {
    super();
    if (opts.preLN) {
      const pre = this.registerModule('pre_transformer_layer', new Module()); // nn.Sequential(LayerNorm, EinOpsRearrange)
      this.preLN = pre.registerModule('0', new LayerNorm(ctx, dim, LN_EPS));
    }
    const rate = (i: number): number => (depth === 1 ? 0 : (opts.dropPath * i) / (depth - 1));
    this.blocks = this.registerModule('blocks', new ModuleList([...Array(depth).keys()].map((i) => new Block(ctx, dim, heads, opts.biasKV, rate(i), opts.layerScale))));
  }
  forward(tokens: Tensor, causal = false): Tensor {
    let x = this.preLN ? this.preLN.forward(tokens) : tokens; // [B, L, D]
    for (const block of this.blocks) x = block.forward(x, causal);
    return x;
  }
}

// ---- preprocessors: stems, class tokens, position embeddings ----------------------------------------------

/** Upstream's "openclip" init of class tokens and position embeddings: N(0, 1)·D^-½. */
const openclipInit = (dim: number) => (t: Tensor): void => void init.normal_(t, 0, dim ** -0.5);

/** PatchEmbedGeneric: `proj` (a conv, or nn.Sequential(PadIm2Video, Conv3d) for vision → 'proj.1') and optional `norm_layer`. */
class PatchStem extends Module {
  constructor(readonly proj: PatchConv | Linear, readonly norm: LayerNorm | null, sequentialIndex: number | null) {
    super();
    if (sequentialIndex === null) this.registerModule('proj', proj);
    else this.registerModule('proj', new Module()).registerModule(String(sequentialIndex), proj);
    if (norm) this.registerModule('norm_layer', norm);
  }
  /** [B, C, (T,) H, W] → [B, N, D] patch tokens (IMU: [B, N, 48] → [B, N, D]). */
  forward(x: Tensor): Tensor {
    const y = this.proj.forward(x);
    const tokens = this.proj instanceof PatchConv ? y.flatten(2).transpose(1, 2) : y; // B C (T) H W → B (T)HW C
    return this.norm ? this.norm.forward(tokens) : tokens;
  }
}

class PosEmbed extends Layer {
  constructor(ctx: BuildContext, tokens: number, dim: number) {
    super(ctx);
    this.param('pos_embed', [1, tokens, dim], openclipInit(dim));
  }
}

/** Prepends the class token and adds the position embedding: [B, N, D] → [B, N+1, D]. */
function clsAndPos(tokens: Tensor, cls: Tensor, pos: Tensor, who: string): Tensor {
  const [B, N, D] = tokens.shape as [number, number, number];
  if (pos.shape[1] !== N + 1) throw new Error(`ImageBind ${who}: ${N} patches need a position embedding of ${N + 1} tokens, the model has ${pos.shape[1]} (interpolation is not supported; use the configured input size)`);
  return cat([cls.expand([B, 1, D]), tokens], 1).add(pos);
}

/** RGBDTPreprocessor (vision, depth) and its Audio/Thermal subclasses: stem → class token → position embedding. */
class PatchPreprocessor extends Layer {
  readonly stem: PatchStem;
  readonly pos: PosEmbed;
  constructor(ctx: BuildContext, readonly modality: Modality, stemName: 'rgbt_stem' | 'depth_stem', stem: PatchStem, numPatches: number, dim: number, readonly videoFrames = 0) {
    super(ctx);
    this.stem = this.registerModule(stemName, stem);
    this.pos = this.registerModule('pos_embedding_helper', new PosEmbed(ctx, numPatches + 1, dim));
    this.param('cls_token', [1, 1, dim], openclipInit(dim));
  }
  /** PadIm2Video(repeat): an image [B, C, H, W] becomes a `videoFrames`-frame video [B, C, T, H, W]. */
  private padIm2Video(x: Tensor): Tensor {
    if (x.ndim === 5) return x;
    if (x.ndim !== 4) throw new Error(`ImageBind vision: expected [B, 3, H, W] images or [B, S, 3, T, H, W] clips, got [${x.shape.join(',')}]`);
    const [B, C, H, W] = x.shape as [number, number, number, number];
    return x.unsqueeze(2).expand([B, C, this.videoFrames, H, W]);
  }
  forward(x: Tensor): Tensor {
    const input = this.modality === 'vision' ? this.padIm2Video(x) : x;
    return clsAndPos(this.stem.forward(input), this.w('cls_token'), this.pos.w('pos_embed'), this.modality); // [B, N+1, D]
  }
}

class TokenEmbedding extends Layer {
  constructor(ctx: BuildContext, vocab: number, dim: number) {
    super(ctx);
    this.param('weight', [vocab, dim], (t) => init.normal_(t, 0, 0.02));
  }
}

/** -inf above the diagonal, 0 elsewhere (build_causal_attention_mask). */
function causalMask(n: number): Tensor {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = -Infinity;
  return tensor(m, { shape: [n, n] });
}

/** TextPreprocessor: token + position embeddings; the causal `mask` buffer is kept for the state dict. */
class TextPreprocessor extends Layer {
  readonly tokenEmbedding: TokenEmbedding;
  constructor(ctx: BuildContext, vocab: number, readonly contextLength: number, dim: number) {
    super(ctx);
    this.tokenEmbedding = this.registerModule('token_embedding', new TokenEmbedding(ctx, vocab, dim));
    this.param('pos_embed', [1, contextLength, dim], (t) => init.normal_(t, 0, 0.01));
    this.constBuffer('mask', causalMask(contextLength));
  }
  /** ids [B, L] (i32, L = contextLength) → tokens [B, L, D]. */
  forward(ids: Tensor): Tensor {
    if (ids.ndim !== 2 || ids.shape[1] !== this.contextLength) throw new Error(`ImageBind text: expected token ids [B, ${this.contextLength}], got [${ids.shape.join(',')}]`);
    return embedding(ids, this.tokenEmbedding.w('weight')).add(this.w('pos_embed'));
  }
}

/** IMUPreprocessor: 8-sample patches, channel-major inside a patch (x.unfold(-1, k, k)) → Linear → LN. */
class ImuPreprocessor extends Layer {
  readonly stem: PatchStem;
  constructor(ctx: BuildContext, readonly channels: number, readonly kernel: number, numSamples: number, dim: number) {
    super(ctx);
    this.stem = this.registerModule('imu_stem', new PatchStem(new Linear(ctx, channels * kernel, dim, { bias: false }), new LayerNorm(ctx, dim, STEM_LN_EPS), null));
    this.param('pos_embed', [1, numSamples / kernel + 1, dim], (t) => init.normal_(t, 0, 0.01));
    this.param('cls_token', [1, 1, dim], openclipInit(dim));
  }
  /** imu [B, C, T] → tokens [B, T/k + 1, D]. */
  forward(imu: Tensor): Tensor {
    const [B, C, T] = imu.shape as [number, number, number];
    if (imu.ndim !== 3 || C !== this.channels) throw new Error(`ImageBind imu: expected [B, ${this.channels}, T], got [${imu.shape.join(',')}]`);
    const patches = imu.unfold(-1, this.kernel, this.kernel).permute([0, 2, 1, 3]).reshape([B, T / this.kernel, C * this.kernel]); // [B, N, C·k]
    return clsAndPos(this.stem.forward(patches), this.w('cls_token'), this.w('pos_embed'), 'imu');
  }
}

// ---- heads and postprocessors ---------------------------------------------------------------------------

/** nn.Sequential(LayerNorm, SelectElement(0), [Dropout,] Linear(D → out, bias=False)) on the class token. */
class ClsHead extends Module {
  readonly norm: LayerNorm;
  readonly proj: Linear;
  constructor(ctx: BuildContext, dim: number, out: number, readonly dropoutRate: number | null) {
    super();
    this.norm = this.registerModule('0', new LayerNorm(ctx, dim, LN_EPS));
    this.proj = this.registerModule(dropoutRate === null ? '2' : '3', new Linear(ctx, dim, out, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    const cls = this.norm.forward(x.select(1, 0)); // [B, D]; LayerNorm is per token, so selecting first is the same
    return this.proj.forward(this.dropoutRate === null ? cls : dropout(cls, this.dropoutRate, this.training)); // [B, out]
  }
}

/** SelectEOSAndProject: the token at argmax(ids) (EOT has the highest id), then proj = (LayerNorm, Linear). */
class EosHead extends Module {
  readonly norm: LayerNorm;
  readonly proj: Linear;
  constructor(ctx: BuildContext, dim: number, out: number) {
    super();
    const seq = this.registerModule('proj', new Module());
    this.norm = seq.registerModule('0', new LayerNorm(ctx, dim, LN_EPS));
    this.proj = seq.registerModule('1', new Linear(ctx, dim, out, { bias: false }));
  }
  forward(x: Tensor, seqLen: Tensor): Tensor {
    const [B, L, D] = x.shape as [number, number, number];
    const rows = arange(B).mul(L).add(seqLen); // [B] flat row of each EOT token
    return this.proj.forward(this.norm.forward(x.reshape([B * L, D]).indexSelect(0, rows))); // [B, out]
  }
}

/** LearnableLogitScaling: min(exp(log_logit_scale), 100)·x; a parameter (text) or a fixed buffer. */
class LogitScaling extends Layer {
  constructor(ctx: BuildContext, scale: number, readonly learnable: boolean) {
    super(ctx);
    const fill = (t: Tensor): void => void init.constant_(t, Math.log(scale));
    if (learnable) this.param('log_logit_scale', [], fill);
    else this.buffer('log_logit_scale', [], fill);
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.w('log_logit_scale').exp().clamp(null, MAX_LOGIT_SCALE));
  }
}

/** Normalize(dim=-1), then (except vision) the logit scaling as child '1' of upstream's nn.Sequential. */
class Postprocessor extends Module {
  readonly scaling: LogitScaling | null;
  constructor(ctx: BuildContext, scale: number | null, learnable: boolean) {
    super();
    this.scaling = scale === null ? null : this.registerModule('1', new LogitScaling(ctx, scale, learnable));
  }
  forward(x: Tensor): Tensor {
    const n = normalize(x, { dim: -1 });
    return this.scaling ? this.scaling.forward(n) : n;
  }
}

/** Fixed output scales: audio 20, depth 5, thermal 10, IMU 5; text learnable from 1/0.07; vision none. */
const LOGIT_SCALE: Readonly<Record<Modality, number | null>> = { vision: null, text: 1 / 0.07, audio: 20, depth: 5, thermal: 10, imu: 5 };

// ---- the model ----------------------------------------------------------------------------------------------

export type ImageBindInputs = Partial<Record<Modality, Tensor>>;

export class ImageBindModel extends Module {
  readonly preprocessors: ModuleDict;
  readonly trunks: ModuleDict<Trunk>;
  readonly heads: ModuleDict;
  readonly postprocessors: ModuleDict<Postprocessor>;

  constructor(readonly config: ImageBindConfig, opts: BuildOptions = {}) {
    super();
    const ctx = new BuildContext(opts);
    const c = config;
    const patches = (size: number, k: number, stride = k): number => Math.floor((size - k) / stride) + 1;
    const [kt, kh, kw] = c.vision.kernelSize;
    const visionPatches = (c.vision.videoFrames / kt) * patches(c.vision.imageSize, kh) * patches(c.vision.imageSize, kw);
    const conv = (m: 'audio' | 'depth' | 'thermal', k: number, stride = k): PatchStem =>
      new PatchStem(new PatchConv(ctx, 1, c[m].embedDim, [k, k], [stride, stride]), new LayerNorm(ctx, c[m].embedDim, STEM_LN_EPS), null);
    this.preprocessors = this.registerModule('modality_preprocessors', new ModuleDict<Module>({
      vision: new PatchPreprocessor(ctx, 'vision', 'rgbt_stem', new PatchStem(new PatchConv(ctx, 3, c.vision.embedDim, [kt, kh, kw]), null, 1), visionPatches, c.vision.embedDim, c.vision.videoFrames),
      text: new TextPreprocessor(ctx, c.text.vocabSize, c.text.contextLength, c.text.embedDim),
      audio: new PatchPreprocessor(ctx, 'audio', 'rgbt_stem', conv('audio', c.audio.kernelSize, c.audio.stride), patches(c.audio.numMelBins, c.audio.kernelSize, c.audio.stride) * patches(c.audio.targetLen, c.audio.kernelSize, c.audio.stride), c.audio.embedDim),
      depth: new PatchPreprocessor(ctx, 'depth', 'depth_stem', conv('depth', c.depth.kernelSize), patches(c.depth.imageSize, c.depth.kernelSize) ** 2, c.depth.embedDim),
      thermal: new PatchPreprocessor(ctx, 'thermal', 'rgbt_stem', conv('thermal', c.thermal.kernelSize), patches(c.thermal.imageSize, c.thermal.kernelSize) ** 2, c.thermal.embedDim),
      imu: new ImuPreprocessor(ctx, c.imu.channels, c.imu.kernelSize, c.imu.numSamples, c.imu.embedDim),
    }));
    const trunk = (m: Modality): Trunk =>
      new Trunk(ctx, c[m].embedDim, c[m].numBlocks, c[m].numHeads, { preLN: m === 'vision', biasKV: m !== 'vision' && m !== 'text', dropPath: c[m].dropPath, layerScale: c.layerScale });
    this.trunks = this.registerModule('modality_trunks', new ModuleDict(Object.fromEntries(MODALITIES.map((m) => [m, trunk(m)]))));
    const head = (m: Modality): Module =>
      m === 'text' ? new EosHead(ctx, c.text.embedDim, c.outEmbedDim) : new ClsHead(ctx, c[m].embedDim, c.outEmbedDim, m === 'imu' ? c.imu.headDropout : null);
    this.heads = this.registerModule('modality_heads', new ModuleDict(Object.fromEntries(MODALITIES.map((m) => [m, head(m)]))));
    this.postprocessors = this.registerModule('modality_postprocessors', new ModuleDict(Object.fromEntries(MODALITIES.map((m) => [m, new Postprocessor(ctx, LOGIT_SCALE[m], m === 'text')]))));
  }

  /** One modality without the clip reduction: preprocess → trunk → head → postprocess. [B, ...] → [B, out]. */
  private encodeBatch(m: Modality, x: Tensor): Tensor {
    const pre = this.preprocessors.get(m);
    const trunk = this.trunks.get(m);
    const post = this.postprocessors.get(m);
    if (m === 'text') {
      const tokens = (pre as TextPreprocessor).forward(x); // [B, L, D]
      const h = trunk.forward(tokens, true);
      return post.forward((this.heads.get(m) as EosHead).forward(h, x.argmax(-1)));
    }
    const tokens = (pre as PatchPreprocessor | ImuPreprocessor).forward(x); // [B, N+1, D]
    return post.forward((this.heads.get(m) as ClsHead).forward(trunk.forward(tokens)));
  }

  /**
   * Embeds one modality: [B, ...] → [B, out]. Inputs with ≥ 5 dims are clips [B, S, ...] (video
   * [B, S, 3, T, H, W], audio [B, S, 1, mel, frames]): encoded per clip and averaged over S, as upstream
   * (not re-normalised). Text: i32 ids [B, contextLength]; IMU: [B, 6, T]; depth/thermal: [B, 1, H, W].
   */
  encode(m: Modality, x: Tensor): Tensor {
    return tidy(() => {
      if (x.ndim < 5) return this.encodeBatch(m, x);
      const [B, S] = x.shape as [number, number];
      const flat = this.encodeBatch(m, x.reshape([B * S, ...x.shape.slice(2)])); // [B·S, out]
      return flat.reshape([B, S, -1]).mean(1); // [B, out]
    });
  }

  /** Embeds every given modality (upstream's forward(inputs)). */
  forward(inputs: ImageBindInputs): ImageBindInputs {
    const out: ImageBindInputs = {};
    for (const m of MODALITIES) {
      const x = inputs[m];
      if (x) out[m] = this.encode(m, x);
    }
    return out;
  }

  /** Streams weights in by upstream name (see kiln.models.loadWeights); takes ownership of each tensor. */
  loadWeights(source: WeightSource, opts: LoadWeightsOptions = {}): Promise<LoadWeightsResult> {
    return loadWeights(this, source, opts);
  }
}
