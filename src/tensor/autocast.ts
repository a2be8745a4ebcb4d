// Autocast (torch.autocast with dtype f16): while a region is enabled, the ops on the lower-precision list
// (matmul, linear, attention, convolutions) cast their float inputs to f16 and those on the f32 list (norms,
// softmax, losses, sums and means, exp/log/rsqrt) cast theirs to f32; every other op runs in its inputs'
// dtype (binary ops promote, as in PyTorch). This is the policy only: how each kernel computes in f16 is its own.
// f16 copies of parameters are cached until the outermost region exits, keyed on (parameter, its version,
// grad mode), so a step casts each weight once per grad mode and never reuses a graph-less copy for grads.

import { gpu } from '../device/gpu.js';
import { isFloat } from '../kernels/dtype.js';
import { isRecordingCheckpoint, recordStateForRecompute } from './checkpoint.js';
import { cast } from './ops/elementwise.js';
import { isGradEnabled, untrack } from './scope.js';
import type { Tensor } from './tensor.js';

/** Where an op sits in autocast's policy: its float inputs are cast to this dtype while autocast is on. */
export type CastPolicy = 'f16' | 'f32';

let enabled = false;
/** Nesting depth of autocast regions, enabled or not: the outermost region's exit empties the cache. */
let depth = 0;
const KEY = {}; // this module's key for checkpoint's state replay

interface CachedCast {
  readonly version: number;
  readonly grad: boolean;
  readonly copy: Tensor;
}
const cache = new Map<Tensor, CachedCast[]>();

/** Sets the state, returning the undo; what checkpoint's recompute replays. */
function setEnabled(on: boolean): () => void {
  const before = enabled;
  enabled = on;
  return () => {
    enabled = before;
  };
}

/** Lets a checkpointed forward replay the autocast state it ran under (the first report per region wins). */
function report(state: boolean): void {
  if (isRecordingCheckpoint()) recordStateForRecompute(KEY, () => setEnabled(state));
}

/**
 * Runs `fn` with autocast to f16 (torch.autocast('cuda', dtype=torch.float16)): matmul, linear, attention
 * and convolutions run in f16; layerNorm, softmax, losses, sum/mean/var and exp/log/rsqrt in f32; other
 * ops in their inputs' dtype; F.linear's residual keeps its dtype (an f32 residual stream gives an f32 output,
 * as `h + linear(x)` would). Parameters stay f32 (their f16 copies are cached for the region) and their
 * gradients arrive in f32. `{ enabled: false }` runs `fn` with autocast off (also inside an enabled region).
 * Backward runs outside autocast, each op in the dtype its forward used. Synchronous, like tidy.
 * @example const loss = kiln.autocast('f16', () => model.forward(x).square().mean());
 */
export function autocast<R>(dtype: 'f16', fn: () => R, opts: { readonly enabled?: boolean } = {}): R {
  if ((dtype as unknown) !== 'f16') throw new Error(`autocast: dtype must be 'f16' (WebGPU has no bf16), got ${JSON.stringify(dtype)}`);
  const on = opts.enabled ?? true;
  if (typeof on !== 'boolean') throw new Error(`autocast: enabled must be a boolean, got ${JSON.stringify(on)}`);
  if (on && !gpu('autocast').hasF16)
    throw new Error("autocast: f16 needs the adapter feature 'shader-f16', which this adapter lacks; run in f32 (enabled: false)");
  report(enabled); // the state outside this region is what a checkpointed fn starts in
  const undo = setEnabled(on);
  depth += 1;
  let result: R;
  try {
    result = fn();
  } finally {
    undo();
    depth -= 1;
    if (depth === 0) clearAutocastCache();
  }
  if (result instanceof Promise) throw new Error('autocast: fn returned a Promise; autocast is synchronous (its state would leak into other work)');
  return result;
}

/** True inside an enabled autocast region (torch.is_autocast_enabled). */
export function isAutocastEnabled(): boolean {
  return enabled;
}

/** Runs `fn` with autocast off: backward, and the body of an op whose inputs autocast already cast. */
export function withoutAutocast<R>(fn: () => R): R {
  if (!enabled) return fn();
  const undo = setEnabled(false);
  try {
    return fn();
  } finally {
    undo();
  }
}

/** Frees the cached f16 copies of parameters (torch.clear_autocast_cache); the outermost region's exit does it. */
export function clearAutocastCache(): void {
  for (const list of cache.values()) for (const e of list) e.copy.dispose();
  cache.clear();
}

/** @internal The number of cached copies (for tests). */
export function autocastCacheSize(): number {
  let n = 0;
  for (const list of cache.values()) n += list.length;
  return n;
}

/**
 * What an op entry point runs when autocasting() is true: it casts the float tensors
 * among `inputs` to `policy`'s dtype, runs `fn` on them with autocast off (the op's own composition is not
 * re-cast, as under PyTorch's autocast) and frees the casts it made (cached parameter copies stay).
 * @example if (autocasting()) return runAutocast('f16', [a, b], (x, y) => matmul(x, y));
 */
export function runAutocast<const T extends readonly (Tensor | null)[], R>(policy: CastPolicy, inputs: T, fn: (...casted: { [K in keyof T]: T[K] }) => R): R {
  const made: Tensor[] = [];
  const casted = inputs.map((t) => {
    if (t === null || !isFloat(t.dtype) || t.dtype === policy) return t;
    if (policy === 'f16' && cacheable(t)) return cachedCast(t);
    const c = cast(t, policy);
    made.push(c);
    return c;
  }) as unknown as { [K in keyof T]: T[K] };
  try {
    return withoutAutocast(() => fn(...casted));
  } finally {
    for (const t of made) t.dispose();
  }
}

/** True when the op at this entry point must apply autocast's policy (and reports the state to checkpoint). */
export function autocasting(): boolean {
  report(enabled);
  return enabled;
}

/**
 * `p` as an f16-list op would see it: its cached f16 copy inside autocast (when it is a parameter), else
 * `p` itself. For layers that cut a weight into views before the op (MultiheadAttention's packed q/k/v rows).
 */
export function autocastParam(p: Tensor): Tensor {
  return autocasting() && cacheable(p) ? cachedCast(p) : p;
}

/** A parameter as autocast sees it: a leaf that trains, f32 (PyTorch caches exactly these). */
function cacheable(t: Tensor): boolean {
  return t.isLeaf && t.requiresGrad && t.dtype === 'f32';
}

/**
 * The f16 copy of parameter `p` for its current version and the grad mode now: a copy cast under noGrad has
 * no graph and is never handed to a pass that records. A copy cast with grad keeps its cast node as long as
 * it is cached, so micro-batches and checkpoint recomputes reuse it and their gradients reach `p` through it.
 */
function cachedCast(p: Tensor): Tensor {
  const version = p.storage.version;
  const grad = isGradEnabled();
  const list = (cache.get(p) ?? []).filter((e) => {
    if (e.version === version) return true;
    e.copy.dispose(); // the parameter was written since (an optimizer step): that copy is stale
    return false;
  });
  let hit = list.find((e) => e.grad === grad);
  if (!hit) {
    const copy = cast(p, 'f16');
    untrack(copy); // owned by the cache, not by the scope the op runs in
    hit = { version, grad, copy };
    list.push(hit);
  }
  cache.set(p, list);
  return hit.copy;
}
