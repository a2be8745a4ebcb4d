// AdamW parameter groups for training: each trainable tensor goes to the first configured group whose name
// pattern matches (else 'default'), then splits by the weight-decay exclusion rule — OpenCLIP v3.3's
// (ndim < 2, or bn/ln/bias/logit_scale in the name) or OpenCLIP main's (ndim ≤ 1, pos/class embeddings).

import type { Tensor } from '../public.js';
import type { ExcludeRule, OptimizerSection } from './config.js';

export interface TrainGroup {
  /** 'default', a configured group's name, with '.no_decay' for the excluded half. */
  readonly name: string;
  readonly lr: number;
  readonly weightDecay: number;
  readonly params: readonly (readonly [string, Tensor])[];
}

const EMBEDDINGS = /(^|\.)(positional_embedding|class_embedding|pos_embed|cls_token)$/;

/** Whether `name` is excluded from weight decay under `rule`. */
export function excludedFromDecay(rule: ExcludeRule, name: string, ndim: number): boolean {
  if (rule === 'openclip') return ndim < 2 || name.includes('bn') || name.includes('ln') || name.includes('bias') || name.includes('logit_scale');
  return ndim <= 1 || EMBEDDINGS.test(name);
}

/** A glob over parameter names: `*` matches any run of characters, everything else literally. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/**
 * Groups the `named` tensors (in order) by the config's patterns and decay rule; empty groups are dropped.
 * Frozen tensors (requiresGrad false) stay in their group: without a gradient AdamW skips them, and one
 * unfrozen later starts its own step count at 1, as in torch — what staged training needs.
 */
export function paramGroups(named: readonly (readonly [string, Tensor])[], opt: OptimizerSection): TrainGroup[] {
  const specs = [...opt.groups.map((g) => ({ name: g.name, lr: g.lr, re: g.match.map(globToRegExp) })), { name: 'default', lr: opt.lr, re: [/.*/] }];
  const buckets = new Map<string, { lr: number; weightDecay: number; params: (readonly [string, Tensor])[] }>();
  for (const s of specs) {
    buckets.set(s.name, { lr: s.lr, weightDecay: opt.weightDecay, params: [] });
    buckets.set(`${s.name}.no_decay`, { lr: s.lr, weightDecay: 0, params: [] });
  }
  for (const [name, t] of named) {
    const spec = specs.find((s) => s.re.some((r) => r.test(name)))!;
    buckets.get(excludedFromDecay(opt.exclude, name, t.ndim) ? `${spec.name}.no_decay` : spec.name)!.params.push([name, t]);
  }
  return [...buckets].filter(([, b]) => b.params.length > 0).map(([name, b]) => ({ name, ...b }));
}
