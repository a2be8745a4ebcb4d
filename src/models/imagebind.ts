// ImageBind (facebookresearch/ImageBind) on Kiln: six independent modality encoders (vision, text, audio,
// depth, thermal, IMU) into one embedding space, with upstream's state-dict names. Read top-down: blocks →
// trunk → preprocessors → heads → postprocessors → the model. Inference semantics and training-ready
// autograd; no tokenizer or audio front end here (inputs are token ids, mel spectrograms, pixels).

import { F, type Tensor, arange, cat, nn, tidy } from '../public.js';

// Models use only the public API.
const { Module, ModuleDict, ModuleList, init, linearThen } = nn;
type Module = nn.Module;
type ModuleDict<M extends nn.Module = nn.Module> = nn.ModuleDict<M>;
type ModuleList<M extends nn.Module = nn.Module> = nn.ModuleList<M>;
type Factory = nn.FactoryOptions;
const { dropPath, dropout, normalize } = F;
import type { ImageBindConfig, LayerScaleConfig } from './config.js';
import { type BuildOptions, asWeightDType, causalMaskInit, checkpointBlocks, factory } from './build.js';
import { type LoadWeightsOptions, type LoadWeightsResult, type WeightSource, loadWeights } from './weights.js';

export const MODALITIES = ['vision', 'text', 'audio', 'depth', 'thermal', 'imu'] as const;
export type Modality = (typeof MODALITIES)[number];

/** Trunk, pre-transformer and head LayerNorms (SimpleTransformer's _LAYER_NORM); the stems keep nn.LayerNorm's 1e-5. */
const LN_EPS = 1e-6;
const STEM_LN_EPS = 1e-5;
/** LearnableLogitScaling's max_logit_scale: the forward clips exp(s) at 100 (so its gradient is 0 above). */
const MAX_LOGIT_SCALE = 100;

// ---- trunk: pre-LN blocks ---------------------------------------------------------------------------------

/** SimpleTransformer's "jax" init of every nn.Linear: xavier_uniform_ weights, zero biases. */
const JAX_LINEAR: nn.InitOverrides = { weight: (t) => init.xavierUniform_(t), bias: init.zeros_ };

/** fc1 → exact GELU → fc2 (+ the block's residual where it adds straight on), each Linear one fused op with what follows it. */
class Mlp extends Module {
  constructor(f: Factory, dim: number, hidden: number) {
    super();
    this.registerModule('fc1', new nn.Linear(dim, hidden, { ...f, init: JAX_LINEAR }));
    this.registerModule('fc2', new nn.Linear(hidden, dim, { ...f, init: JAX_LINEAR }));
  }
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    const h = linearThen(this.child('fc1'), x, { activation: 'gelu' }); // [B, L, 4D]
    return linearThen(this.child('fc2'), h, { residual }); // [B, L, D]
  }
}

/** BlockWithMasking: x + DropPath(attn(norm_1(x)))·γ1, then x + DropPath(mlp(norm_2(x)))·γ2. */
class Block extends Module {
  constructor(f: Factory, dim: number, heads: number, biasKV: boolean, readonly dropPathRate: number, readonly layerScale: LayerScaleConfig | null) {
    super();
    const outProj = { 'out_proj.weight': JAX_LINEAR['weight']!, 'out_proj.bias': JAX_LINEAR['bias']! };
    this.registerModule('attn', new nn.MultiheadAttention(dim, heads, { batchFirst: true, addBiasKV: biasKV, ...f, init: outProj }));
    this.registerModule('norm_1', new nn.LayerNorm(dim, LN_EPS, f));
    this.registerModule('mlp', new Mlp(f, dim, 4 * dim));
    this.registerModule('norm_2', new nn.LayerNorm(dim, LN_EPS, f));
    if (layerScale) {
      const shape = layerScale.type === 'per_channel' ? [1, 1, dim] : [1, 1, 1];
      for (const name of ['layer_scale_gamma1', 'layer_scale_gamma2']) this.createParameter(name, shape, (t) => init.constant_(t, layerScale.init), f);
    }
  }
  private branch(y: Tensor, gamma: string): Tensor {
    const d = dropPath(y, this.dropPathRate, this.training);
    return this.layerScale ? d.mul(this.tensor(gamma)) : d;
  }
  forward(x: Tensor, causal: boolean): Tensor {
    const n1 = this.child<nn.LayerNorm>('norm_1').call(x);
    const a = this.child<nn.MultiheadAttention>('attn').call(n1, n1, n1, { isCausal: causal }).output;
    const h = x.add(this.branch(a, 'layer_scale_gamma1')); // [B, L, D]
    const n2 = this.child<nn.LayerNorm>('norm_2').call(h);
    // With no DropPath at work and no layer scale the branch is the identity: the residual goes into fc2.
    if (!this.layerScale && (this.dropPathRate === 0 || !this.training)) return this.child<Mlp>('mlp').call(n2, h); // h + mlp(n2)
    return h.add(this.branch(this.child<Mlp>('mlp').call(n2), 'layer_scale_gamma2'));
  }
}

/** SimpleTransformer: optional pre-LN (vision's ln_pre), then blocks with DropPath rates linspace(0, rate, n). */
class Trunk extends Module {
  constructor(f: Factory, dim: number, depth: number, heads: number, readonly opts: { preLN: boolean; biasKV: boolean; dropPath: number; layerScale: LayerScaleConfig | null }) {
    super();
    if (opts.preLN) this.registerModule('pre_transformer_layer', new Module()).registerModule('0', new nn.LayerNorm(dim, LN_EPS, f)); // nn.Sequential(LayerNorm, EinOpsRearrange)
    const rate = (i: number): number => (depth === 1 ? 0 : (opts.dropPath * i) / (depth - 1));
    this.registerModule('blocks', new ModuleList([...Array(depth).keys()].map((i) => new Block(f, dim, heads, opts.biasKV, rate(i), opts.layerScale))));
  }
  get blocks(): ModuleList<Block> {
    return this.child('blocks');
  }
  forward(tokens: Tensor, causal = false): Tensor {
    let x = this.opts.preLN ? (this.getSubmodule('pre_transformer_layer.0') as nn.LayerNorm).call(tokens) : tokens; // [B, L, D]
    for (const block of this.blocks) x = block.call(x, causal);
    return x;
  }
}

// ---- preprocessors: stems, class tokens, position embeddings ----------------------------------------------

/** Upstream's "openclip" init of class tokens and position embeddings: N(0, 1)·D^-½. */
const openclipInit = (dim: number): nn.Initializer => (t) => init.normal_(t, 0, dim ** -0.5);

/** PatchEmbedGeneric: `proj` (a conv, or nn.Sequential(PadIm2Video, Conv3d) for vision → 'proj.1') and optional `norm_layer`. */
class PatchStem extends Module {
  readonly projPath: string;
  readonly isConv: boolean;
  readonly hasNorm: boolean;
  constructor(proj: nn.Conv2d | nn.Conv3d | nn.Linear, norm: nn.LayerNorm | null, sequentialIndex: number | null) {
    super();
    if (sequentialIndex === null) this.registerModule('proj', proj);
    else this.registerModule('proj', new Module()).registerModule(String(sequentialIndex), proj);
    this.projPath = sequentialIndex === null ? 'proj' : `proj.${sequentialIndex}`;
    this.isConv = !(proj instanceof nn.Linear);
    this.hasNorm = norm !== null;
    if (norm) this.registerModule('norm_layer', norm);
  }
  /** [B, C, (T,) H, W] → [B, N, D] patch tokens (IMU: [B, N, 48] → [B, N, D]). */
  forward(x: Tensor): Tensor {
    const proj = this.getSubmodule(this.projPath) as nn.UnaryModule;
    const like = proj.getParameter('weight') ?? proj.parameters()[0]; // a replaced (e.g. LoRA-wrapped) stem may hold it deeper
    const xw = like ? asWeightDType(x, like) : x;
    const y = proj.call(this.isConv ? xw.contiguous() : xw);
    const tokens = this.isConv ? y.flatten(2).transpose(1, 2) : y; // B C (T) H W → B (T)HW C
    return this.hasNorm ? this.child<nn.LayerNorm>('norm_layer').call(tokens) : tokens;
  }
}

class PosEmbed extends Module {
  constructor(f: Factory, tokens: number, dim: number) {
    super();
    this.createParameter('pos_embed', [1, tokens, dim], openclipInit(dim), f);
  }
  get posEmbed(): Tensor {
    return this.tensor('pos_embed');
  }
}

/** Prepends the class token and adds the position embedding: [B, N, D] → [B, N+1, D]. */
function clsAndPos(tokens: Tensor, cls: Tensor, pos: Tensor, who: string): Tensor {
  const [B, N, D] = tokens.shape as [number, number, number];
  if (pos.shape[1] !== N + 1) throw new Error(`ImageBind ${who}: ${N} patches need a position embedding of ${N + 1} tokens, the model has ${pos.shape[1]} (interpolation is not supported; use the configured input size)`);
  return cat([cls.expand([B, 1, D]), tokens], 1).add(pos);
}

/** RGBDTPreprocessor (vision, depth) and its Audio/Thermal subclasses: stem → class token → position embedding. */
class PatchPreprocessor extends Module {
  constructor(f: Factory, readonly modality: Modality, readonly stemName: 'rgbt_stem' | 'depth_stem', stem: PatchStem, numPatches: number, dim: number, readonly videoFrames = 0) {
    super();
    this.registerModule(stemName, stem);
    this.registerModule('pos_embedding_helper', new PosEmbed(f, numPatches + 1, dim));
    this.createParameter('cls_token', [1, 1, dim], openclipInit(dim), f);
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
    const tokens = this.child<PatchStem>(this.stemName).call(input);
    return clsAndPos(tokens, this.tensor('cls_token'), this.child<PosEmbed>('pos_embedding_helper').posEmbed, this.modality); // [B, N+1, D]
  }
}

/** TextPreprocessor: token + position embeddings; the causal `mask` buffer is kept for the state dict. */
class TextPreprocessor extends Module {
  constructor(f: Factory, vocab: number, readonly contextLength: number, dim: number) {
    super();
    this.registerModule('token_embedding', new nn.Embedding(vocab, dim, { ...f, init: { weight: (t) => init.normal_(t, 0, 0.02) } }));
    this.createParameter('pos_embed', [1, contextLength, dim], (t) => init.normal_(t, 0, 0.01), f);
    this.createBuffer('mask', [contextLength, contextLength], causalMaskInit(contextLength), f);
  }
  /** ids [B, L] (i32, L = contextLength) → tokens [B, L, D]. */
  forward(ids: Tensor): Tensor {
    if (ids.ndim !== 2 || ids.shape[1] !== this.contextLength) throw new Error(`ImageBind text: expected token ids [B, ${this.contextLength}], got [${ids.shape.join(',')}]`);
    return this.child<nn.Embedding>('token_embedding').call(ids).add(this.tensor('pos_embed'));
  }
}

/** IMUPreprocessor: 8-sample patches, channel-major inside a patch (x.unfold(-1, k, k)) → Linear → LN. */
class ImuPreprocessor extends Module {
  constructor(f: Factory, readonly channels: number, readonly kernel: number, numSamples: number, dim: number) {
    super();
    this.registerModule('imu_stem', new PatchStem(new nn.Linear(channels * kernel, dim, { ...f, bias: false }), new nn.LayerNorm(dim, STEM_LN_EPS, f), null));
    this.createParameter('pos_embed', [1, numSamples / kernel + 1, dim], (t) => init.normal_(t, 0, 0.01), f);
    this.createParameter('cls_token', [1, 1, dim], openclipInit(dim), f);
  }
  /** imu [B, C, T] → tokens [B, T/k + 1, D]. */
  forward(imu: Tensor): Tensor {
    const [B, C, T] = imu.shape as [number, number, number];
    if (imu.ndim !== 3 || C !== this.channels) throw new Error(`ImageBind imu: expected [B, ${this.channels}, T], got [${imu.shape.join(',')}]`);
    const patches = imu.unfold(-1, this.kernel, this.kernel).permute([0, 2, 1, 3]).reshape([B, T / this.kernel, C * this.kernel]); // [B, N, C·k]
    return clsAndPos(this.child<PatchStem>('imu_stem').call(patches), this.tensor('cls_token'), this.tensor('pos_embed'), 'imu');
  }
}

// ---- heads and postprocessors ---------------------------------------------------------------------------

/** nn.Sequential(LayerNorm, SelectElement(0), [Dropout,] Linear(D → out, bias=False)) on the class token. */
class ClsHead extends Module {
  readonly projName: string;
  constructor(f: Factory, dim: number, out: number, readonly dropoutRate: number | null) {
    super();
    this.projName = dropoutRate === null ? '2' : '3';
    this.registerModule('0', new nn.LayerNorm(dim, LN_EPS, f));
    this.registerModule(this.projName, new nn.Linear(dim, out, { ...f, bias: false }));
  }
  forward(x: Tensor): Tensor {
    const cls = this.child<nn.LayerNorm>('0').call(x.select(1, 0)); // [B, D]; LayerNorm is per token, so selecting first is the same
    return this.child<nn.Linear>(this.projName).call(this.dropoutRate === null ? cls : dropout(cls, this.dropoutRate, this.training)); // [B, out]
  }
}

/** SelectEOSAndProject: the token at argmax(ids) (EOT has the highest id), then proj = (LayerNorm, Linear). */
class EosHead extends Module {
  constructor(f: Factory, dim: number, out: number) {
    super();
    this.registerModule('proj', new nn.Sequential(new nn.LayerNorm(dim, LN_EPS, f), new nn.Linear(dim, out, { ...f, bias: false })));
  }
  forward(x: Tensor, seqLen: Tensor): Tensor {
    const [B, L, D] = x.shape as [number, number, number];
    const rows = arange(B).mul(L).add(seqLen); // [B] flat row of each EOT token
    return this.child<nn.Sequential>('proj').call(x.reshape([B * L, D]).indexSelect(0, rows)); // [B, out]
  }
}

/** LearnableLogitScaling: min(exp(log_logit_scale), 100)·x; a parameter (text) or a fixed buffer. */
class LogitScaling extends Module {
  constructor(f: Factory, scale: number, readonly learnable: boolean) {
    super();
    const fill = (t: Tensor): Tensor => init.constant_(t, Math.log(scale));
    if (learnable) this.createParameter('log_logit_scale', [], fill, f);
    else this.createBuffer('log_logit_scale', [], fill, f);
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.tensor('log_logit_scale').exp().clamp(null, MAX_LOGIT_SCALE));
  }
}

/** Normalize(dim=-1), then (except vision) the logit scaling as child '1' of upstream's nn.Sequential. */
class Postprocessor extends Module {
  constructor(f: Factory, readonly scale: number | null, learnable: boolean) {
    super();
    if (scale !== null) this.registerModule('1', new LogitScaling(f, scale, learnable));
  }
  forward(x: Tensor): Tensor {
    const n = normalize(x, { dim: -1 });
    return this.scale === null ? n : this.child<LogitScaling>('1').call(n);
  }
}

/** Fixed output scales: audio 20, depth 5, thermal 10, IMU 5; text learnable from 1/0.07; vision none. */
const LOGIT_SCALE: Readonly<Record<Modality, number | null>> = { vision: null, text: 1 / 0.07, audio: 20, depth: 5, thermal: 10, imu: 5 };

// ---- the model ----------------------------------------------------------------------------------------------

export type ImageBindInputs = Partial<Record<Modality, Tensor>>;

export class ImageBindModel extends Module {
  get preprocessors(): ModuleDict {
    return this.child('modality_preprocessors');
  }
  get trunks(): ModuleDict<Trunk> {
    return this.child('modality_trunks');
  }
  get heads(): ModuleDict {
    return this.child('modality_heads');
  }
  get postprocessors(): ModuleDict<Postprocessor> {
    return this.child('modality_postprocessors');
  }

  constructor(readonly config: ImageBindConfig, opts: BuildOptions = {}) {
    super();
    const f = factory(opts, 'ImageBindModel');
    const c = config;
    const patches = (size: number, k: number, stride = k): number => Math.floor((size - k) / stride) + 1;
    const [kt, kh, kw] = c.vision.kernelSize;
    const visionPatches = (c.vision.videoFrames / kt) * patches(c.vision.imageSize, kh) * patches(c.vision.imageSize, kw);
    const conv = (m: 'audio' | 'depth' | 'thermal', k: number, stride = k): PatchStem =>
      new PatchStem(new nn.Conv2d(1, c[m].embedDim, k, { ...f, stride, bias: false }), new nn.LayerNorm(c[m].embedDim, STEM_LN_EPS, f), null);
    this.registerModule('modality_preprocessors', new ModuleDict<Module>({
      vision: new PatchPreprocessor(f, 'vision', 'rgbt_stem', new PatchStem(new nn.Conv3d(3, c.vision.embedDim, [kt, kh, kw], { ...f, stride: [kt, kh, kw], bias: false }), null, 1), visionPatches, c.vision.embedDim, c.vision.videoFrames),
      text: new TextPreprocessor(f, c.text.vocabSize, c.text.contextLength, c.text.embedDim),
      audio: new PatchPreprocessor(f, 'audio', 'rgbt_stem', conv('audio', c.audio.kernelSize, c.audio.stride), patches(c.audio.numMelBins, c.audio.kernelSize, c.audio.stride) * patches(c.audio.targetLen, c.audio.kernelSize, c.audio.stride), c.audio.embedDim),
      depth: new PatchPreprocessor(f, 'depth', 'depth_stem', conv('depth', c.depth.kernelSize), patches(c.depth.imageSize, c.depth.kernelSize) ** 2, c.depth.embedDim),
      thermal: new PatchPreprocessor(f, 'thermal', 'rgbt_stem', conv('thermal', c.thermal.kernelSize), patches(c.thermal.imageSize, c.thermal.kernelSize) ** 2, c.thermal.embedDim),
      imu: new ImuPreprocessor(f, c.imu.channels, c.imu.kernelSize, c.imu.numSamples, c.imu.embedDim),
    }));
    const trunk = (m: Modality): Trunk =>
      new Trunk(f, c[m].embedDim, c[m].numBlocks, c[m].numHeads, { preLN: m === 'vision', biasKV: m !== 'vision' && m !== 'text', dropPath: c[m].dropPath, layerScale: c[m].layerScale !== undefined ? c[m].layerScale : c.layerScale });
    this.registerModule('modality_trunks', new ModuleDict(Object.fromEntries(MODALITIES.map((m) => [m, trunk(m)]))));
    const head = (m: Modality): Module =>
      m === 'text' ? new EosHead(f, c.text.embedDim, c.outEmbedDim) : new ClsHead(f, c[m].embedDim, c.outEmbedDim, m === 'imu' ? c.imu.headDropout : null);
    this.registerModule('modality_heads', new ModuleDict(Object.fromEntries(MODALITIES.map((m) => [m, head(m)]))));
    this.registerModule('modality_postprocessors', new ModuleDict(Object.fromEntries(MODALITIES.map((m) => [m, new Postprocessor(f, LOGIT_SCALE[m], m === 'text')]))));
    if (opts.gradCheckpointing) this.setGradCheckpointing();
  }

  /**
   * Activation checkpointing per transformer block in every trunk (OpenCLIP's set_grad_checkpointing):
   * each block's activations are recomputed in backward instead of kept.
   */
  setGradCheckpointing(enable = true): this {
    checkpointBlocks(this, Block, enable);
    return this;
  }

  /** One modality without the clip reduction: preprocess → trunk → head → postprocess. [B, ...] → [B, out]. */
  private encodeBatch(m: Modality, x: Tensor): Tensor {
    const pre = this.preprocessors.get(m);
    const trunk = this.trunks.get(m);
    const post = this.postprocessors.get(m);
    if (m === 'text') {
      const tokens = (pre as TextPreprocessor).call(x); // [B, L, D]
      const h = trunk.call(tokens, true);
      return post.call((this.heads.get(m) as EosHead).call(h, x.argmax(-1)));
    }
    const tokens = (pre as PatchPreprocessor).call(x); // [B, N+1, D]
    return post.call((this.heads.get(m) as ClsHead).call(trunk.call(tokens)));
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
