// The gradient registry: every built-in op's rule, gathered from the files that define the ops. Its type is
// a mapped type over OpName, so leaving a rule out does not compile. Built lazily to keep imports acyclic
// at module-evaluation time.

import { elementwiseRules } from './elementwise.js';
import { viewRules } from './views.js';
import { reduceRules } from './reduce.js';
import { matmulRules } from './matmul.js';
import { linearRules } from './linear.js';
import { indexRules } from './indexing.js';
import { softmaxRules } from './softmax.js';
import { normRules } from './norm.js';
import { crossEntropyRules } from './cross-entropy.js';
import { dropoutRules } from './dropout.js';
import { convRules } from './conv.js';
import { unfoldRules } from './unfold.js';
import { infoNCERules } from './infonce.js';
import { attentionRules } from './attention.js';
import type { GradRule, GradRules, OpName } from './types.js';

let table: GradRules | null = null;

export function ruleFor<K extends OpName>(op: K): GradRule<K> {
  table ??= { ...elementwiseRules, ...viewRules, ...reduceRules, ...matmulRules, ...linearRules, ...indexRules, ...softmaxRules, ...normRules, ...crossEntropyRules, ...dropoutRules, ...convRules, ...unfoldRules, ...infoNCERules, ...attentionRules } satisfies GradRules;
  return table[op];
}
