// Indexing and joining: cat, stack, gather, indexSelect, scatterAdd — forward beside gradient.
// (placeholder while the kernels are written; replaced in the same change)

import type { Tensor } from '../tensor.js';
import type { GradRules } from './types.js';

export function cat(_ts: readonly Tensor[], _dim = 0): Tensor {
  throw new Error('cat: not implemented yet');
}
export function stack(_ts: readonly Tensor[], _dim = 0): Tensor {
  throw new Error('stack: not implemented yet');
}
export function gather(_x: Tensor, _dim: number, _index: Tensor): Tensor {
  throw new Error('gather: not implemented yet');
}
export function indexSelect(_x: Tensor, _dim: number, _index: Tensor): Tensor {
  throw new Error('indexSelect: not implemented yet');
}
export function scatterAdd(_x: Tensor, _dim: number, _index: Tensor, _src: Tensor): Tensor {
  throw new Error('scatterAdd: not implemented yet');
}

export const indexRules = {
  cat: () => [],
  gather: () => [],
  index_select: () => [],
  scatter_add: () => [],
} satisfies Pick<GradRules, 'cat' | 'gather' | 'index_select' | 'scatter_add'>;
