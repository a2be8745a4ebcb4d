// The built-in op set as a typed union, with each op's attributes. The gradient registry (registry.ts) is a
// mapped type over this union, so an op without a gradient rule is a compile error, not a runtime miss.

import type { Tensor } from '../tensor.js';
import type { DType } from '../../kernels/dtype.js';
import type { MatmulActivation } from '../../kernels/matmul.js';

type None = Record<string, never>;

export interface OpAttrs {
  // elementwise, tensor ⊕ tensor
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  minimum: None;
  maximum: None;
  where: None;
  // elementwise, tensor ⊕ number
  add_scalar: { s: number };
  mul_scalar: { s: number };
  div_scalar: { s: number };
  rsub_scalar: { s: number };
  rdiv_scalar: { s: number };
  pow_scalar: { s: number };
  rpow_scalar: { s: number };
  clamp: { min: number; max: number };
  // elementwise, unary
  neg: None;
  exp: None;
  log: None;
  sqrt: None;
  rsqrt: None;
  abs: None;
  sign: None;
  tanh: None;
  sigmoid: None;
  relu: None;
  gelu: None;
  gelu_tanh: None;
  silu: None;
  erfinv: None;
  // types and copies
  cast: { from: DType };
  copy: None;
  // views
  reshape: None;
  permute: { dims: readonly number[] };
  expand: None;
  slice: { dim: number; start: number; step: number };
  // reductions
  sum: { dims: readonly number[]; keepdim: boolean };
  amax: { dims: readonly number[]; keepdim: boolean };
  amin: { dims: readonly number[]; keepdim: boolean };
  // linear algebra
  matmul: None;
  linear: { activation: MatmulActivation; bias: boolean; residual: boolean };
  // indexing and joining
  cat: { dim: number; sizes: readonly number[] };
  gather: { dim: number };
  index_select: { dim: number };
  scatter_add: { dim: number };
}

export type OpName = keyof OpAttrs;

/** What an input or output looked like when the op ran. */
export interface TensorMeta {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly requiresGrad: boolean;
}

/** What a gradient rule receives besides the output gradient. */
export interface Ctx<K extends OpName> {
  readonly attrs: OpAttrs[K];
  readonly inputs: readonly TensorMeta[];
  readonly out: TensorMeta;
  /** The i-th tensor saved at forward time; throws if it was modified in place since. */
  saved(i: number): Tensor;
  /** Whether input i needs a gradient (rules skip the work for inputs that do not). */
  needs(i: number): boolean;
}

/** A vector-Jacobian product: output gradient → input gradients (null where none flows). */
export type GradRule<K extends OpName> = (g: Tensor, ctx: Ctx<K>) => readonly (Tensor | null)[];
export type GradRules = { readonly [K in OpName]: GradRule<K> };
