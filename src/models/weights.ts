// Streaming weights into any Module: each incoming [name, tensor] is installed with
// loadStateDict(…, { assign: true }) one at a time, so a big model (built on the meta device) never holds
// two copies of a weight.

import { type ProgressCallback, type Tensor, type nn } from '../public.js';

type Module = nn.Module;

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

/**
 * Installs each [name, tensor] of `source` (cast to the model's dtype) into `model`, taking ownership of
 * the tensor. Shapes must match; with `strict`, unknown names throw at once and names never given throw at
 * the end, listing them all.
 */
export async function loadWeights(model: Module, source: WeightSource, opts: LoadWeightsOptions = {}): Promise<LoadWeightsResult> {
  const strict = opts.strict ?? true;
  const shapes = new Map([...model.stateDict()].map(([k, t]) => [k, t.shape]));
  const names = new Set(shapes.keys());
  const loaded = new Set<string>();
  const unexpected: string[] = [];
  // Progress counts the state dict's tensors (parameters and persistent buffers: what a checkpoint holds).
  opts.onProgress?.({ done: 0, total: names.size, unit: 'tensors' });
  for await (const [name, given] of source) {
    if (!names.has(name)) {
      given.dispose();
      if (strict) throw new Error(`loadWeights: unexpected key '${name}' for ${model.constructor.name}`);
      unexpected.push(name);
      continue;
    }
    const want = shapes.get(name)!;
    if (given.shape.length !== want.length || given.shape.some((s, i) => s !== want[i])) {
      given.dispose();
      throw new Error(`loadWeights: size mismatch for '${name}': checkpoint [${given.shape.join(',')}] vs model [${want.join(',')}]`);
    }
    model.loadStateDict(new Map([[name, given]]), { strict: false, assign: true });
    loaded.add(name);
    opts.onProgress?.({ done: loaded.size, total: names.size, unit: 'tensors', name });
  }
  const missing = [...names].filter((k) => !loaded.has(k));
  if (strict && missing.length) throw new Error(`loadWeights: missing keys (${missing.length}) for ${model.constructor.name}: ${missing.join(', ')}`);
  return { loaded: [...loaded], missing, unexpected };
}
