// Streaming weights into a model built from Layers: each incoming [name, tensor] replaces its placeholder
// (or its initialised tensor) by upstream name, one at a time, so a big model never holds two copies.

import { type ProgressCallback, type Tensor, type nn, noGrad } from '../public.js';

type Module = nn.Module;
import { Layer } from './layers.js';

export type WeightSource = Iterable<readonly [string, Tensor]> | AsyncIterable<readonly [string, Tensor]>;

export interface LoadWeightsOptions {
  /** Throw on unexpected names, and on names never given once the source is exhausted (default true). */
  readonly strict?: boolean;
  /** Called before the first tensor and after each one is placed (total: the model's persistent tensors). */
  readonly onProgress?: ProgressCallback;
}

export interface LoadWeightsResult {
  readonly loaded: readonly string[];
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
}

interface Slot {
  readonly layer: Layer;
  readonly local: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

function slots(model: Module): Map<string, Slot> {
  const out = new Map<string, Slot>();
  for (const [prefix, m] of model.namedModules())
    if (m instanceof Layer)
      for (const [local, info] of m.ownTensors()) out.set(prefix ? `${prefix}.${local}` : local, { layer: m, local, shape: info.shape, dtype: info.dtype });
  return out;
}

const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;

/**
 * Installs each [name, tensor] of `source` (f32 or f16; cast to the model's dtype) into `model`, taking
 * ownership of the tensor. Shapes must match; with `strict`, unknown names throw at once and names never
 * given throw at the end, listing them all.
 */
export async function loadWeights(model: Module, source: WeightSource, opts: LoadWeightsOptions = {}): Promise<LoadWeightsResult> {
  const strict = opts.strict ?? true;
  const table = slots(model);
  const loaded = new Set<string>();
  const unexpected: string[] = [];
  // Progress counts the persistent tensors (those a checkpoint holds); a source may add non-persistent ones.
  const expected = [...table.values()].filter((s) => s.layer.isPersistent(s.local)).length;
  opts.onProgress?.({ done: 0, total: expected, unit: 'tensors' });
  for await (const [name, given] of source) {
    const slot = table.get(name);
    if (!slot) {
      given.dispose();
      if (strict) throw new Error(`loadWeights: unexpected key '${name}' for ${model.constructor.name}`);
      unexpected.push(name);
      continue;
    }
    if (given.shape.length !== slot.shape.length || given.shape.some((s, i) => s !== slot.shape[i])) {
      given.dispose();
      throw new Error(`loadWeights: size mismatch for '${name}': checkpoint ${fmt(given.shape)} vs model ${fmt(slot.shape)}`);
    }
    const t = noGrad(() => {
      if (given.dtype === slot.dtype && given.isLeaf && given.isContiguous()) return given;
      const c = given.dtype === slot.dtype ? given.detach().contiguous() : given.cast(slot.dtype as 'f32' | 'f16');
      const d = c.isLeaf ? c : c.detach();
      if (d !== c) c.dispose();
      given.dispose();
      return d;
    });
    slot.layer.replaceTensor(slot.local, t);
    loaded.add(name);
    opts.onProgress?.({ done: loaded.size, total: Math.max(expected, loaded.size), unit: 'tensors', name });
  }
  const missing = [...table.keys()].filter((k) => !loaded.has(k) && table.get(k)!.layer.isPersistent(table.get(k)!.local));
  if (strict && missing.length) throw new Error(`loadWeights: missing keys (${missing.length}) for ${model.constructor.name}: ${missing.join(', ')}`);
  return { loaded: [...loaded], missing, unexpected };
}
