// Typed model configs and their validation: architectures are data (one JSON per family and size under
// ./configs), checked on load with errors that name the offending field. Not the models themselves.

export interface LayerScaleConfig {
  readonly type: 'per_channel' | 'scalar';
  readonly init: number;
}

/** The fields every ImageBind trunk has. */
export interface TrunkConfig {
  readonly embedDim: number;
  readonly numBlocks: number;
  readonly numHeads: number;
  /** The last block's DropPath rate; earlier blocks follow linspace(0, dropPath, numBlocks). */
  readonly dropPath: number;
  /** LayerScale of this trunk's blocks, replacing the model-wide `layerScale` (null: none here). */
  readonly layerScale?: LayerScaleConfig | null;
}

export interface ImageBindConfig {
  readonly family: 'imagebind';
  readonly name: string;
  readonly outEmbedDim: number;
  /** LayerScale in every block (off, null, in imagebind_huge). */
  readonly layerScale: LayerScaleConfig | null;
  readonly vision: TrunkConfig & { readonly imageSize: number; readonly videoFrames: number; readonly kernelSize: readonly [number, number, number] };
  readonly text: TrunkConfig & { readonly contextLength: number; readonly vocabSize: number };
  readonly audio: TrunkConfig & { readonly numMelBins: number; readonly targetLen: number; readonly kernelSize: number; readonly stride: number };
  readonly depth: TrunkConfig & { readonly imageSize: number; readonly kernelSize: number };
  readonly thermal: TrunkConfig & { readonly imageSize: number; readonly kernelSize: number };
  readonly imu: TrunkConfig & { readonly channels: number; readonly numSamples: number; readonly kernelSize: number; readonly headDropout: number };
}

export interface ClipTowerConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly mlpRatio: number;
}

export interface ClipConfig {
  readonly family: 'clip';
  readonly name: string;
  readonly embedDim: number;
  /** 'quick_gelu' for OpenAI's weights (and OpenCLIP's -quickgelu models), 'gelu' otherwise. */
  readonly activation: 'gelu' | 'quick_gelu';
  readonly vision: ClipTowerConfig & { readonly imageSize: number; readonly patchSize: number };
  readonly text: ClipTowerConfig & { readonly contextLength: number; readonly vocabSize: number };
}

export type ModelConfig = ImageBindConfig | ClipConfig;

// ---- validation -----------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly what: string) {}
  fail(path: string, msg: string): never {
    throw new Error(`${this.what}: field '${path}' ${msg}`);
  }
  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `must be an object, got ${JSON.stringify(v)}`);
    return v as Obj;
  }
  /** The fields of `o` must be exactly `keys`. */
  keys(o: Obj, path: string, keys: readonly string[], optional: readonly string[] = []): void {
    for (const k of keys) if (!(k in o)) this.fail(path ? `${path}.${k}` : k, 'is missing');
    const known = [...keys, ...optional];
    for (const k of Object.keys(o)) if (!known.includes(k)) this.fail(path ? `${path}.${k}` : k, `is not a known field (known: ${known.join(', ')})`);
  }
  int(o: Obj, path: string, k: string, min = 1): number {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(`${path}.${k}`, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  }
  num(o: Obj, path: string, k: string, lo: number, hi: number): number {
    const v = o[k];
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) this.fail(`${path}.${k}`, `must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  }
  str<T extends string>(o: Obj, path: string, k: string, allowed?: readonly T[]): T {
    const v = o[k];
    if (typeof v !== 'string' || (allowed && !allowed.includes(v as T)))
      this.fail(path ? `${path}.${k}` : k, `must be ${allowed ? `one of ${allowed.map((a) => `'${a}'`).join(', ')}` : 'a string'}, got ${JSON.stringify(v)}`);
    return v as T;
  }
  divides(path: string, width: number, heads: number): void {
    if (width % heads !== 0) this.fail(path, `width ${width} must be a multiple of the number of heads ${heads}`);
  }
}

const TRUNK = ['embedDim', 'numBlocks', 'numHeads', 'dropPath'] as const;

/** A LayerScale setting at `path` (the field `key` of `o`): null, or { type, init }. */
function layerScale(c: Checker, o: Obj, path: string, key: string): void {
  if (o[key] === null || o[key] === undefined) return;
  const at = path ? `${path}.${key}` : key;
  const ls = c.obj(o[key], at);
  c.keys(ls, at, ['type', 'init']);
  c.str(ls, at, 'type', ['per_channel', 'scalar']);
  c.num(ls, at, 'init', -Infinity, Infinity);
}

function trunk(c: Checker, root: Obj, name: string, extra: readonly string[]): Obj {
  const o = c.obj(root[name], name);
  c.keys(o, name, [...TRUNK, ...extra], ['layerScale']);
  c.int(o, name, 'embedDim');
  c.int(o, name, 'numBlocks');
  c.int(o, name, 'numHeads');
  c.num(o, name, 'dropPath', 0, 1);
  layerScale(c, o, name, 'layerScale');
  c.divides(`${name}.numHeads`, o['embedDim'] as number, o['numHeads'] as number);
  return o;
}

/** Validates an ImageBind config (e.g. parsed JSON); throws naming the first bad field. */
export function imageBindConfig(json: unknown): ImageBindConfig {
  const c = new Checker('ImageBind config');
  const o = c.obj(json, '(root)');
  c.keys(o, '', ['family', 'name', 'outEmbedDim', 'layerScale', 'vision', 'text', 'audio', 'depth', 'thermal', 'imu']);
  c.str(o, '', 'family', ['imagebind']);
  c.str(o, '', 'name');
  c.int(o, '(root)', 'outEmbedDim');
  layerScale(c, o, '', 'layerScale');
  const v = trunk(c, o, 'vision', ['imageSize', 'videoFrames', 'kernelSize']);
  c.int(v, 'vision', 'imageSize');
  c.int(v, 'vision', 'videoFrames');
  const kv = v['kernelSize'];
  if (!Array.isArray(kv) || kv.length !== 3 || !kv.every((x) => Number.isInteger(x) && (x as number) > 0))
    c.fail('vision.kernelSize', `must be three positive integers [T, H, W], got ${JSON.stringify(kv)}`);
  const k = kv as number[];
  if ((v['imageSize'] as number) % (k[1] as number) !== 0) c.fail('vision.imageSize', `must be a multiple of the patch size ${k[1]}`);
  if ((v['videoFrames'] as number) % (k[0] as number) !== 0) c.fail('vision.videoFrames', `must be a multiple of the temporal kernel ${k[0]}`);
  const t = trunk(c, o, 'text', ['contextLength', 'vocabSize']);
  c.int(t, 'text', 'contextLength');
  c.int(t, 'text', 'vocabSize');
  const a = trunk(c, o, 'audio', ['numMelBins', 'targetLen', 'kernelSize', 'stride']);
  for (const f of ['numMelBins', 'targetLen', 'kernelSize', 'stride']) c.int(a, 'audio', f);
  if ((a['numMelBins'] as number) < (a['kernelSize'] as number) || (a['targetLen'] as number) < (a['kernelSize'] as number))
    c.fail('audio.kernelSize', 'must not exceed numMelBins or targetLen');
  for (const m of ['depth', 'thermal']) {
    const d = trunk(c, o, m, ['imageSize', 'kernelSize']);
    c.int(d, m, 'imageSize');
    c.int(d, m, 'kernelSize');
    if ((d['imageSize'] as number) % (d['kernelSize'] as number) !== 0) c.fail(`${m}.imageSize`, `must be a multiple of kernelSize ${String(d['kernelSize'])}`);
  }
  const i = trunk(c, o, 'imu', ['channels', 'numSamples', 'kernelSize', 'headDropout']);
  for (const f of ['channels', 'numSamples', 'kernelSize']) c.int(i, 'imu', f);
  c.num(i, 'imu', 'headDropout', 0, 1);
  if ((i['numSamples'] as number) % (i['kernelSize'] as number) !== 0) c.fail('imu.numSamples', `must be a multiple of kernelSize ${String(i['kernelSize'])}`);
  return json as ImageBindConfig;
}

function tower(c: Checker, root: Obj, name: string, extra: readonly string[]): Obj {
  const o = c.obj(root[name], name);
  c.keys(o, name, ['width', 'layers', 'heads', 'mlpRatio', ...extra]);
  for (const f of ['width', 'layers', 'heads', ...extra]) c.int(o, name, f);
  c.num(o, name, 'mlpRatio', 0, 64);
  c.divides(`${name}.heads`, o['width'] as number, o['heads'] as number);
  return o;
}

/** Validates a CLIP config (e.g. parsed JSON); throws naming the first bad field. */
export function clipConfig(json: unknown): ClipConfig {
  const c = new Checker('CLIP config');
  const o = c.obj(json, '(root)');
  c.keys(o, '', ['family', 'name', 'embedDim', 'activation', 'vision', 'text']);
  c.str(o, '', 'family', ['clip']);
  c.str(o, '', 'name');
  c.int(o, '(root)', 'embedDim');
  c.str(o, '', 'activation', ['gelu', 'quick_gelu']);
  const v = tower(c, o, 'vision', ['imageSize', 'patchSize']);
  if ((v['imageSize'] as number) % (v['patchSize'] as number) !== 0) c.fail('vision.imageSize', `must be a multiple of patchSize ${String(v['patchSize'])}`);
  tower(c, o, 'text', ['contextLength', 'vocabSize']);
  return json as ClipConfig;
}

/** Deep-merges `overrides` into `base` (objects merge, everything else replaces). */
export function mergeConfig<T>(base: T, overrides: unknown): T {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides) || typeof base !== 'object' || base === null || Array.isArray(base))
    return (overrides === undefined ? base : overrides) as T;
  const out: Obj = { ...(base as Obj) };
  for (const [k, v] of Object.entries(overrides as Obj)) out[k] = mergeConfig(out[k], v);
  return out as T;
}

export const IMAGEBIND_SIZES = ['huge', 'small', 'tiny', 'demo'] as const;
export const CLIP_SIZES = ['vit_b_32', 'vit_b_16', 'vit_l_14', 'tiny'] as const;
export type ImageBindSize = (typeof IMAGEBIND_SIZES)[number];
export type ClipSize = (typeof CLIP_SIZES)[number];

/** Reads a JSON file beside this module (Node: the file system; browsers and bundlers: fetch). */
async function readJson(url: URL): Promise<unknown> {
  if (url.protocol === 'file:') {
    const fsName = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
    return JSON.parse(await fs.readFile(url, 'utf8')) as unknown;
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`readJson: ${url.href}: HTTP ${res.status}`);
  return (await res.json()) as unknown;
}

/** Loads and validates `configs/imagebind_<size>.json`, with optional overrides merged in first. */
export async function loadImageBindConfig(size: ImageBindSize, overrides?: unknown): Promise<ImageBindConfig> {
  if (!IMAGEBIND_SIZES.includes(size)) throw new Error(`loadImageBindConfig: unknown size '${String(size)}' (known: ${IMAGEBIND_SIZES.join(', ')})`);
  return imageBindConfig(mergeConfig(await readJson(new URL(`./configs/imagebind_${size}.json`, import.meta.url)), overrides));
}

/** Loads and validates `configs/clip_<size>.json` (vit_b_32, vit_b_16, vit_l_14, tiny), with optional overrides. */
export async function loadClipConfig(size: ClipSize, overrides?: unknown): Promise<ClipConfig> {
  if (!CLIP_SIZES.includes(size)) throw new Error(`loadClipConfig: unknown size '${String(size)}' (known: ${CLIP_SIZES.join(', ')})`);
  return clipConfig(mergeConfig(await readJson(new URL(`./configs/clip_${size}.json`, import.meta.url)), overrides));
}
