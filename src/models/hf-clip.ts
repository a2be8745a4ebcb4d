// Hugging Face `transformers` CLIP (CLIPModel) ↔ Kiln's CLIP: the config.json mapping, the state-dict
// renaming (separate q/k/v ↔ fused in_proj, `[E, W]` projections ↔ OpenCLIP's `[W, E]` proj), and a
// directory loader/writer. Not the HF tokenizer or image processor, and not CLIPVisionModel-only checkpoints.

import { type Tensor, cat, io } from '../public.js';
import { ClipModel } from './clip.js';
import { type ClipConfig, clipConfig } from './config.js';
import type { BuildOptions } from './build.js';
import type { WeightSource } from './weights.js';

type Obj = Record<string, unknown>;

/** What a Kiln model computes the same as HF only under these values (OpenCLIP's LayerNorm, 3-channel images). */
const LN_EPS = 1e-5;

function fail(field: string, msg: string): never {
  throw new Error(`HF CLIP config: field '${field}' ${msg}`);
}

function num(o: Obj, path: string, k: string, fallback: number): number {
  const v = o[k] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}${k}`, `must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function tower(root: Obj, name: 'text_config' | 'vision_config'): Obj {
  // Old configs (openai/clip-vit-base-patch32) carry text_config_dict beside (or instead of) text_config.
  const v = root[name] ?? root[`${name}_dict`] ?? {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(name, `must be an object, got ${JSON.stringify(v)}`);
  return v as Obj;
}

/**
 * Maps an HF `CLIPModel` config.json (parsed) to a validated ClipConfig, with HF's defaults for absent
 * fields. Refuses what Kiln's CLIP would compute differently: another LayerNorm eps, two activations, an
 * end-of-text id that argmax pooling cannot find (neither the largest id nor the legacy 2).
 * @example const cfg = kiln.models.clipConfigFromHf(JSON.parse(await readFile('config.json', 'utf8')));
 */
export function clipConfigFromHf(json: unknown, name = 'hf'): ClipConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('(root)', `must be an object, got ${JSON.stringify(json)}`);
  const root = json as Obj;
  const mt = root['model_type'];
  if (mt !== undefined && mt !== 'clip') fail('model_type', `must be 'clip' (a CLIPModel config), got ${JSON.stringify(mt)}`);
  const t = tower(root, 'text_config');
  const v = tower(root, 'vision_config');
  const act = (o: Obj, path: string): 'gelu' | 'quick_gelu' => {
    const a = o['hidden_act'] ?? 'quick_gelu';
    if (a !== 'gelu' && a !== 'quick_gelu') fail(`${path}hidden_act`, `must be 'gelu' or 'quick_gelu', got ${JSON.stringify(a)}`);
    return a;
  };
  const acts = [act(t, 'text_config.'), act(v, 'vision_config.')] as const;
  if (acts[0] !== acts[1]) fail('vision_config.hidden_act', `must equal text_config.hidden_act (${acts[0]}): Kiln's CLIP has one activation, got ${acts[1]}`);
  for (const [path, o] of [['text_config.', t], ['vision_config.', v]] as const) {
    const eps = num(o, path, 'layer_norm_eps', LN_EPS);
    if (eps !== LN_EPS) fail(`${path}layer_norm_eps`, `must be ${LN_EPS} (OpenCLIP's LayerNorm), got ${eps}`);
  }
  if (num(v, 'vision_config.', 'num_channels', 3) !== 3) fail('vision_config.num_channels', `must be 3, got ${JSON.stringify(v['num_channels'])}`);
  const vocab = num(t, 'text_config.', 'vocab_size', 49408);
  const eos = num(t, 'text_config.', 'eos_token_id', 2);
  // HF pools at the first eos id (or, for the legacy eos 2, at argmax of the ids); Kiln pools at argmax.
  if (eos !== 2 && eos !== vocab - 1) fail('text_config.eos_token_id', `must be the largest id ${vocab - 1} (or the legacy 2) for argmax pooling, got ${eos}`);
  const vw = num(v, 'vision_config.', 'hidden_size', 768);
  const tw = num(t, 'text_config.', 'hidden_size', 512);
  return clipConfig({
    family: 'clip',
    name,
    embedDim: num(root, '', 'projection_dim', 512),
    activation: acts[0],
    vision: {
      imageSize: num(v, 'vision_config.', 'image_size', 224),
      patchSize: num(v, 'vision_config.', 'patch_size', 32),
      width: vw,
      layers: num(v, 'vision_config.', 'num_hidden_layers', 12),
      heads: num(v, 'vision_config.', 'num_attention_heads', 12),
      mlpRatio: num(v, 'vision_config.', 'intermediate_size', 3072) / vw,
    },
    text: {
      contextLength: num(t, 'text_config.', 'max_position_embeddings', 77),
      vocabSize: vocab,
      width: tw,
      layers: num(t, 'text_config.', 'num_hidden_layers', 12),
      heads: num(t, 'text_config.', 'num_attention_heads', 8),
      mlpRatio: num(t, 'text_config.', 'intermediate_size', 2048) / tw,
    },
  });
}

/** The HF config.json (as an object) of a Kiln CLIP: `CLIPModel.from_pretrained` builds the same model. */
export function clipConfigToHf(c: ClipConfig): Obj {
  const common = { hidden_act: c.activation, layer_norm_eps: LN_EPS, projection_dim: c.embedDim, attention_dropout: 0, initializer_factor: 1, initializer_range: 0.02 };
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: c.embedDim,
    logit_scale_init_value: 2.6592,
    initializer_factor: 1,
    torch_dtype: 'float32',
    text_config: {
      ...common,
      model_type: 'clip_text_model',
      vocab_size: c.text.vocabSize,
      hidden_size: c.text.width,
      intermediate_size: Math.round(c.text.width * c.text.mlpRatio),
      num_hidden_layers: c.text.layers,
      num_attention_heads: c.text.heads,
      max_position_embeddings: c.text.contextLength,
      // Kiln pools at argmax of the ids: the end-of-text token is the largest id.
      bos_token_id: c.text.vocabSize - 2,
      eos_token_id: c.text.vocabSize - 1,
      pad_token_id: 1,
    },
    vision_config: {
      ...common,
      model_type: 'clip_vision_model',
      hidden_size: c.vision.width,
      intermediate_size: Math.round(c.vision.width * c.vision.mlpRatio),
      num_hidden_layers: c.vision.layers,
      num_attention_heads: c.vision.heads,
      image_size: c.vision.imageSize,
      patch_size: c.vision.patchSize,
      num_channels: 3,
    },
  };
}

/** Block-level renames (HF suffix → OpenCLIP suffix), both towers. */
const BLOCK: readonly (readonly [string, string])[] = [
  ['self_attn.out_proj.', 'attn.out_proj.'],
  ['layer_norm1.', 'ln_1.'],
  ['layer_norm2.', 'ln_2.'],
  ['mlp.fc1.', 'mlp.c_fc.'],
  ['mlp.fc2.', 'mlp.c_proj.'],
];
/** Whole-name renames outside the blocks (HF → OpenCLIP); `T` marks a `[E, W]` ↔ `[W, E]` transpose. */
const TOP: readonly (readonly [string, string, boolean])[] = [
  ['text_model.embeddings.token_embedding.weight', 'token_embedding.weight', false],
  ['text_model.embeddings.position_embedding.weight', 'positional_embedding', false],
  ['text_model.final_layer_norm.weight', 'ln_final.weight', false],
  ['text_model.final_layer_norm.bias', 'ln_final.bias', false],
  ['text_projection.weight', 'text_projection', true],
  ['vision_model.embeddings.class_embedding', 'visual.class_embedding', false],
  ['vision_model.embeddings.patch_embedding.weight', 'visual.conv1.weight', false],
  ['vision_model.embeddings.position_embedding.weight', 'visual.positional_embedding', false],
  ['vision_model.pre_layrnorm.weight', 'visual.ln_pre.weight', false],
  ['vision_model.pre_layrnorm.bias', 'visual.ln_pre.bias', false],
  ['vision_model.post_layernorm.weight', 'visual.ln_post.weight', false],
  ['vision_model.post_layernorm.bias', 'visual.ln_post.bias', false],
  ['visual_projection.weight', 'visual.proj', true],
  ['logit_scale', 'logit_scale', false],
];
/** Buffers HF checkpoints carry (older versions saved them) and Kiln recomputes. */
const LEGACY = new Set(['text_model.embeddings.position_ids', 'vision_model.embeddings.position_ids']);
const HF_BLOCK = /^(text_model|vision_model)\.encoder\.layers\.(\d+)\.(.+)$/;
const OC_BLOCK = /^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$/;

/**
 * Renames an HF CLIPModel state dict to OpenCLIP's names as it streams: q/k/v projections are fused into
 * `in_proj_weight`/`in_proj_bias` (q, k, v stacked), the projections transposed, the legacy `position_ids`
 * dropped. Unknown names pass through unchanged (a strict load then names them). Takes ownership of
 * every tensor.
 * @example await model.loadWeights(kiln.models.hfToOpenClip(kiln.io.iterateSafetensors('model.safetensors')));
 */
export async function* hfToOpenClip(source: WeightSource): AsyncGenerator<[string, Tensor]> {
  const pending = new Map<string, Map<string, Tensor>>(); // `<prefix>in_proj_<kind>` → q/k/v so far
  try {
    for await (const [name, t] of source) {
      if (LEGACY.has(name)) {
        t.dispose();
        continue;
      }
      const top = TOP.find(([hf]) => hf === name);
      if (top) {
        yield [top[1], top[2] ? transposed(t) : t];
        continue;
      }
      const m = HF_BLOCK.exec(name);
      if (!m) {
        yield [name, t];
        continue;
      }
      const prefix = `${m[1] === 'vision_model' ? 'visual.' : ''}transformer.resblocks.${m[2]}.`;
      const rest = m[3]!;
      const qkv = /^self_attn\.([qkv])_proj\.(weight|bias)$/.exec(rest);
      if (qkv) {
        const key = `${prefix}attn.in_proj_${qkv[2]}`;
        const parts = pending.get(key) ?? new Map<string, Tensor>();
        pending.set(key, parts);
        parts.get(qkv[1]!)?.dispose();
        parts.set(qkv[1]!, t);
        if (parts.size === 3) {
          pending.delete(key);
          const fused = cat(['q', 'k', 'v'].map((k) => parts.get(k)!), 0);
          for (const p of parts.values()) p.dispose();
          yield [key, fused];
        }
        continue;
      }
      const b = BLOCK.find(([hf]) => rest.startsWith(hf));
      yield [b ? `${prefix}${b[1]}${rest.slice(b[0].length)}` : name, t];
    }
    if (pending.size) {
      const [key, parts] = [...pending][0]!;
      throw new Error(`hfToOpenClip: '${key}' lacks ${['q', 'k', 'v'].filter((k) => !parts.has(k)).map((k) => `${k}_proj`).join(', ')} in the checkpoint`);
    }
  } finally {
    for (const parts of pending.values()) for (const p of parts.values()) p.dispose();
  }
}

/** A contiguous transpose of a 2-D weight; disposes the input. */
function transposed(t: Tensor): Tensor {
  const out = t.transpose(0, 1).contiguous();
  t.dispose();
  return out;
}

/**
 * OpenCLIP names → HF CLIPModel names: in_proj split into q/k/v, the projections transposed to `[E, W]`.
 * New tensors throughout (the caller keeps `sd`); the Kiln-only `attn_mask` buffer is left out.
 */
export function openClipToHf(sd: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of sd) {
    if (name === 'attn_mask') continue;
    const top = TOP.find(([, oc]) => oc === name);
    if (top) {
      out.set(top[0], top[2] ? t.transpose(0, 1).contiguous() : t.clone());
      continue;
    }
    const m = OC_BLOCK.exec(name);
    if (!m) throw new Error(`openClipToHf: no HF name for '${name}'`);
    const prefix = `${m[1] ? 'vision_model' : 'text_model'}.encoder.layers.${m[2]}.`;
    const rest = m[3]!;
    const fused = /^attn\.in_proj_(weight|bias)$/.exec(rest);
    if (fused) {
      const w = t.shape[0]! / 3;
      ['q', 'k', 'v'].forEach((k, i) => out.set(`${prefix}self_attn.${k}_proj.${fused[1]}`, t.narrow(0, i * w, w).contiguous()));
      continue;
    }
    const b = BLOCK.find(([, oc]) => rest.startsWith(oc));
    if (!b) throw new Error(`openClipToHf: no HF name for '${name}'`);
    out.set(`${prefix}${b[0]}${rest.slice(b[1].length)}`, t.clone());
  }
  return out;
}

async function readText(path: string): Promise<string> {
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  return fs.readFile(path, 'utf8');
}

async function exists(path: string): Promise<boolean> {
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  return fs.stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Loads an HF CLIPModel directory (`config.json` + `model.safetensors`, or `pytorch_model.bin`) into a
 * Kiln ClipModel (strict: every weight present, none left over). Node only.
 * @example const model = await kiln.models.loadHfClip('clip-vit-base-patch32/');
 */
export async function loadHfClip(dir: string, opts: BuildOptions = {}): Promise<ClipModel> {
  let json: unknown;
  try {
    json = JSON.parse(await readText(`${dir}/config.json`)) as unknown;
  } catch (e) {
    throw new Error(`loadHfClip: cannot read ${dir}/config.json: ${e instanceof Error ? e.message : String(e)}`);
  }
  const named = (json as Obj | null)?.['_name_or_path'];
  const config = clipConfigFromHf(json, typeof named === 'string' && named ? named : 'hf');
  const st = `${dir}/model.safetensors`;
  const bin = `${dir}/pytorch_model.bin`;
  const source = (await exists(st)) ? io.iterateSafetensors(st) : (await exists(bin)) ? io.iteratePth(bin) : null;
  if (!source) throw new Error(`loadHfClip: ${dir} has neither model.safetensors nor pytorch_model.bin`);
  const model = new ClipModel(config, { ...opts, device: 'meta' });
  try {
    await model.loadWeights(hfToOpenClip(source));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Writes a Kiln CLIP as an HF CLIPModel directory: `config.json` and `model.safetensors` (metadata
 * `format: "pt"`, which transformers requires), each written atomically. Node only.
 * @example await kiln.models.saveHfClip(model, 'out/hf');  // then CLIPModel.from_pretrained('out/hf')
 */
export async function saveHfClip(model: ClipModel, dir: string): Promise<void> {
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  await fs.mkdir(dir, { recursive: true });
  const sd = openClipToHf(model.stateDict());
  try {
    await io.saveSafetensors(`${dir}/model.safetensors`, sd, { format: 'pt' });
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  const tmp = `${dir}/config.json.tmp-${Date.now()}`;
  const dtype = [...model.parameters()][0]?.dtype === 'f16' ? 'float16' : 'float32';
  await fs.writeFile(tmp, `${JSON.stringify({ ...clipConfigToHf(model.config), torch_dtype: dtype }, null, 2)}\n`);
  await fs.rename(tmp, `${dir}/config.json`);
}
