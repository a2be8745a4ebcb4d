// Tower locking (OpenCLIP's lock-image / lock-text): which parameters a lock freezes. A tower's parameters
// fall into OpenCLIP's ordered groups — stem, blocks 0…L−2, [last block + final LayerNorm], projection —
// and `unlockedGroups` N leaves the last N trainable. Only names are decided here; stages.ts sets the flags.

import { type Tensor, nn } from '../public.js';
import { ConfigError, type ModelKind, type TowerLock } from './config.js';
import type { TrainModel } from './model.js';

/** Where a parameter sits in its tower, input to output. */
type Place = { readonly kind: 'stem' } | { readonly kind: 'block'; readonly index: number } | { readonly kind: 'final' } | { readonly kind: 'proj' };

/** The position of `name` in its tower (CLIP's and ImageBind's upstream names). */
function placeOf(kind: ModelKind, name: string): Place {
  if (kind === 'clip') {
    const rest = name.startsWith('visual.') ? name.slice('visual.'.length) : name;
    const block = /^transformer\.resblocks\.(\d+)\./.exec(rest);
    if (block) return { kind: 'block', index: Number(block[1]) };
    if (/^(ln_post|ln_final)\./.test(rest)) return { kind: 'final' };
    if (/^(proj|text_projection)$/.test(rest)) return { kind: 'proj' };
    return { kind: 'stem' }; // conv1, class/positional embeddings, ln_pre; token_embedding
  }
  const block = /^modality_trunks\.[a-z]+\.blocks\.(\d+)\./.exec(name);
  if (block) return { kind: 'block', index: Number(block[1]) };
  // The head's LayerNorm (ClsHead's '0', SelectEOSAndProject's proj.0) plays CLIP's ln_post / ln_final.
  if (/^modality_heads\.([a-z]+\.0|text\.proj\.0)\./.test(name)) return { kind: 'final' };
  if (/^modality_(heads|postprocessors)\./.test(name)) return { kind: 'proj' };
  return { kind: 'stem' }; // preprocessors (stems, class tokens, positions), the trunk's pre-LN
}

/**
 * The tower's parameter names in OpenCLIP's lock groups, input end first: [stem], block 0, …, block L−2,
 * [block L−1, final LayerNorm], [projection]. Empty groups are kept, so N counts as OpenCLIP counts.
 */
export function lockGroups(kind: ModelKind, names: readonly string[]): string[][] {
  const places = names.map((n) => [n, placeOf(kind, n)] as const);
  const blocks = Math.max(0, ...places.map(([, p]) => (p.kind === 'block' ? p.index + 1 : 0)));
  const final = Math.max(blocks, 1); // block L−1 is at 1 + (L−1) = L: it shares the final LayerNorm's group
  const groups: string[][] = Array.from({ length: final + 2 }, () => []);
  for (const [n, p] of places) groups[p.kind === 'stem' ? 0 : p.kind === 'block' ? 1 + p.index : p.kind === 'final' ? final : final + 1]!.push(n);
  return groups;
}

/** The tower a trainable tensor belongs to: the model's towers, and 'loss' for the loss's own (SigLIP's biases). */
export const towerName = (model: TrainModel, name: string): string => (name.startsWith('loss.') ? 'loss' : model.towerOf(name));

/** Names of the parameters that belong to a LayerNorm module. */
export function layerNormParams(module: nn.Module): Set<string> {
  const out = new Set<string>();
  for (const [path, m] of module.namedModules()) if (m instanceof nn.LayerNorm) for (const [n] of m.namedParameters(path)) out.add(n);
  return out;
}

/**
 * The parameter names `locks` freeze for the whole run. A lock names a tower (as in per-tower gradient
 * norms: CLIP image / text, ImageBind's modalities) and leaves its last `unlockedGroups` groups trainable;
 * with `freezeLayerNorm: false` the LayerNorms of the locked part stay trainable.
 */
export function lockedNames(kind: ModelKind, model: TrainModel, named: readonly (readonly [string, Tensor])[], locks: Readonly<Record<string, TowerLock>>): Set<string> {
  const towers = new Map<string, string[]>();
  for (const [n] of named) towers.set(towerName(model, n), [...(towers.get(towerName(model, n)) ?? []), n]);
  const ln = layerNormParams(model.module);
  const locked = new Set<string>();
  for (const [tower, lock] of Object.entries(locks)) {
    const names = towers.get(tower);
    if (!names) throw new ConfigError(`lock.${tower}: no such tower (towers: ${[...towers.keys()].join(', ')})`);
    const groups = lockGroups(kind, names);
    if (lock.unlockedGroups > groups.length)
      throw new ConfigError(`lock.${tower}.unlockedGroups: the tower has ${groups.length} groups (stem, blocks, last block + final LayerNorm, projection), got ${lock.unlockedGroups}`);
    for (const g of groups.slice(0, groups.length - lock.unlockedGroups)) for (const n of g) if (lock.freezeLayerNorm || !ln.has(n)) locked.add(n);
  }
  return locked;
}
