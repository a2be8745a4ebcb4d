// Elementwise ops: unary, binary (NumPy broadcasting, PyTorch type promotion), scalar forms, comparisons,
// where, clamp, casts and copies, in-place forms — each forward beside its gradient rule.

import { type DType, computeType, isDType, isFloat, promoteTypes, promoteWithScalar } from '../../kernels/dtype.js';
import { type ElementwiseKernel, runElementwise } from '../../kernels/elementwise.js';
import type { Operand } from '../../kernels/operand.js';
import { empty, requireF16 } from '../alloc.js';
import { broadcastShapes, broadcastStrides, describeValue, fmt, sameShape } from '../shape.js';
import { Tensor, type TensorOrScalar } from '../tensor.js';
import { needsRecord, record, recordOverwrite } from './record.js';
import { autocasting, runAutocast } from '../autocast.js';
import type { GradRules, OpAttrs, OpName } from './types.js';

type Compute = 'f32' | 'i32' | 'u32';
/** Expression per compute type; `float` marks ops that promote integer inputs to f32 (exp, log, …). */
interface ExprDef {
  readonly f: string;
  readonly i?: string;
  readonly u?: string;
  readonly float?: boolean;
  readonly bool?: boolean;
}

/** A comparison of a0 with `rhs` (a1 or the scalar s0), the same in every compute type, giving a bool. */
function compareExpr(op: string, rhs: string): ExprDef {
  const e = `a0 ${op} ${rhs}`;
  return { f: e, i: e, u: e, bool: true };
}

/** WGSL expressions over a0..a2 (inputs) and s0, s1 (scalars), in the compute type. */
const EXPR = {
  // unary
  neg: { f: '-a0', i: '-a0', u: '0u - a0' },
  exp: { f: 'exp(a0)', float: true },
  log: { f: 'log(a0)', float: true },
  sqrt: { f: 'sqrt(a0)', float: true },
  rsqrt: { f: 'inverseSqrt(a0)', float: true },
  abs: { f: 'abs(a0)', i: 'abs(a0)', u: 'a0' },
  sign: { f: 'kiln_sign(a0)', i: 'sign(a0)', u: 'min(a0, 1u)' },
  tanh: { f: 'kiln_tanh(a0)', float: true },
  sigmoid: { f: 'kiln_sigmoid(a0)', float: true },
  relu: { f: 'kiln_max(a0, 0.0)', i: 'max(a0, 0i)', u: 'a0' },
  gelu: { f: 'kiln_gelu(a0)', float: true },
  gelu_tanh: { f: 'kiln_gelu_tanh(a0)', float: true },
  silu: { f: 'a0 * kiln_sigmoid(a0)', float: true },
  erfinv: { f: 'kiln_erfinv(a0)', float: true },
  copy: { f: 'a0', i: 'a0', u: 'a0' },
  // binary
  add: { f: 'a0 + a1', i: 'a0 + a1', u: 'a0 + a1' },
  sub: { f: 'a0 - a1', i: 'a0 - a1', u: 'a0 - a1' },
  mul: { f: 'a0 * a1', i: 'a0 * a1', u: 'a0 * a1' },
  div: { f: 'a0 / a1', float: true },
  pow: { f: 'kiln_pow(a0, a1)', i: 'kiln_ipow(a0, a1)', u: 'u32(kiln_ipow(i32(a0), i32(a1)))' },
  minimum: { f: 'kiln_min(a0, a1)', i: 'min(a0, a1)', u: 'min(a0, a1)' },
  maximum: { f: 'kiln_max(a0, a1)', i: 'max(a0, a1)', u: 'max(a0, a1)' },
  where: { f: 'select(a2, a1, a0 != 0.0)', i: 'select(a2, a1, a0 != 0i)', u: 'select(a2, a1, a0 != 0u)' },
  // where with number arms, read from the uniform block: t = a tensor arm, s = a number arm (a, b order)
  where_ts: { f: 'select(s0, a1, a0 != 0.0)', i: 'select(s0, a1, a0 != 0i)', u: 'select(s0, a1, a0 != 0u)' },
  where_st: { f: 'select(a1, s0, a0 != 0.0)', i: 'select(a1, s0, a0 != 0i)', u: 'select(a1, s0, a0 != 0u)' },
  where_ss: { f: 'select(s1, s0, a0 != 0.0)', i: 'select(s1, s0, a0 != 0i)', u: 'select(s1, s0, a0 != 0u)' },
  // scalar forms
  add_scalar: { f: 'a0 + s0', i: 'a0 + s0', u: 'a0 + s0' },
  mul_scalar: { f: 'a0 * s0', i: 'a0 * s0', u: 'a0 * s0' },
  div_scalar: { f: 'a0 / s0', float: true },
  rsub_scalar: { f: 's0 - a0', i: 's0 - a0', u: 's0 - a0' },
  rdiv_scalar: { f: 's0 / a0', float: true },
  pow_scalar: { f: 'kiln_pow(a0, s0)', i: 'kiln_ipow(a0, s0)', u: 'u32(kiln_ipow(i32(a0), i32(s0)))' },
  rpow_scalar: { f: 'kiln_pow(s0, a0)', i: 'kiln_ipow(s0, a0)', u: 'u32(kiln_ipow(i32(s0), i32(a0)))' },
  clamp: { f: 'kiln_min(kiln_max(a0, s0), s1)', i: 'min(max(a0, s0), s1)', u: 'min(max(a0, s0), s1)' },
  fill: { f: 's0', i: 's0', u: 's0' },
  // comparisons (bool results)
  eq: compareExpr('==', 'a1'),
  ne: compareExpr('!=', 'a1'),
  lt: compareExpr('<', 'a1'),
  le: compareExpr('<=', 'a1'),
  gt: compareExpr('>', 'a1'),
  ge: compareExpr('>=', 'a1'),
  // against a number: the scalar travels in the uniform block (no 0-d tensor to allocate and fill)
  eq_scalar: compareExpr('==', 's0'),
  ne_scalar: compareExpr('!=', 's0'),
  lt_scalar: compareExpr('<', 's0'),
  le_scalar: compareExpr('<=', 's0'),
  gt_scalar: compareExpr('>', 's0'),
  ge_scalar: compareExpr('>=', 's0'),
  // gradient helpers (never recorded): a0 is the incoming gradient
  tanh_bw: { f: 'a0 * (1.0 - a1 * a1)' },
  sigmoid_bw: { f: 'a0 * a1 * (1.0 - a1)' },
  relu_bw: { f: 'select(0.0, a0, a1 > 0.0)' },
  gelu_bw: { f: 'a0 * kiln_gelu_grad(a1)' },
  gelu_tanh_bw: { f: 'a0 * kiln_gelu_tanh_grad(a1)' },
  silu_bw: { f: 'a0 * kiln_sigmoid(a1) * (1.0 + a1 * (1.0 - kiln_sigmoid(a1)))' },
  abs_bw: { f: 'a0 * kiln_sign(a1)' },
  sqrt_bw: { f: 'a0 * 0.5 / a1' },
  erfinv_bw: { f: 'a0 * 0.88622692545275801 * exp(a1 * a1)' },
  rsqrt_bw: { f: '-0.5 * a0 * a1 * a1 * a1' },
  clamp_bw: { f: 'select(0.0, a0, a1 >= s0 && a1 <= s1)' },
  pow_scalar_bw: { f: 'select(a0 * s0 * kiln_pow(a1, s0 - 1.0), 0.0, s0 == 0.0)' },
  rpow_scalar_bw: { f: 'a0 * a1 * log(s0)' },
  rdiv_scalar_bw: { f: '-a0 * s0 / (a1 * a1)' },
  div_bw_b: { f: '-a0 * a1 / (a2 * a2)' },
  pow_bw_a: { f: 'select(a0 * a2 * kiln_pow(a1, a2 - 1.0), 0.0, a2 == 0.0)' },
  pow_bw_b: { f: 'select(a0 * kiln_pow(a1, a2) * log(a1), 0.0, a1 == 0.0 && a2 >= 0.0)' },
  // d min(a,b)/da: 1 where a < b, ½ on ties (PyTorch splits ties evenly)
  min_bw: { f: 'select(select(0.0, 0.5 * a0, a1 == a2), a0, a1 < a2)' },
  max_bw: { f: 'select(select(0.0, 0.5 * a0, a1 == a2), a0, a1 > a2)' },
  mask_keep: { f: 'select(0.0, a1, a0 != 0.0)' },
  mask_drop: { f: 'select(a1, 0.0, a0 != 0.0)' },
} satisfies Record<string, ExprDef>;

export type ExprName = keyof typeof EXPR;

function kernelFor(name: ExprName, compute: Compute): ElementwiseKernel {
  const def: ExprDef = EXPR[name];
  const expr = compute === 'f32' ? def.f : compute === 'i32' ? def.i : def.u;
  if (expr === undefined) throw new Error(`kiln: '${name}' has no ${compute} kernel`);
  return { name: `${name}:${compute}`, expr, compute, result: def.bool ? 'bool' : compute };
}

function broadcastOperand(t: Tensor, shape: readonly number[], op: string): Operand {
  const o = t.operand(op);
  return { ...o, shape, strides: broadcastStrides(t.shape, t.strides, shape) };
}

/**
 * Runs EXPR[name] over `inputs` broadcast to `shape`, computing in `compute` dtype's type and storing as
 * `outDtype` — into a new tensor, or into `into` (an in-place write; its shape must equal `shape`).
 */
export function launch(
  name: ExprName,
  inputs: readonly Tensor[],
  shape: readonly number[],
  compute: DType,
  outDtype: DType,
  scalars: readonly number[] = [],
  into?: Tensor,
): Tensor {
  const out = into ?? empty(shape, outDtype, name);
  const k = kernelFor(name, computeType(compute));
  const target = out.operand(name);
  const temps: Tensor[] = [];
  const operands = inputs.map((t) => {
    const o = broadcastOperand(t, shape, name);
    if (o.buffer !== target.buffer || (o.dtype === target.dtype && o.offset === target.offset && o.strides.every((v, d) => v === target.strides[d] || shape[d] === 1)))
      return o;
    // The input overlaps the output with another layout (x.copy_(x.t())): read from a copy.
    const c = launch('copy', [t], t.shape, t.dtype === 'bool' ? 'u32' : t.dtype, t.dtype);
    temps.push(c);
    return broadcastOperand(c, shape, name);
  });
  runElementwise(k, target, operands, scalars);
  for (const t of temps) t.dispose();
  return out;
}

function checkInto(op: string, into: Tensor | undefined, shape: readonly number[], dtype: DType): void {
  if (!into) return;
  if (!sameShape(into.shape, shape))
    throw new Error(`${op}_: output with shape ${fmt(into.shape)} doesn't match the broadcast shape ${fmt(shape)}`);
  if (isFloat(dtype) && !isFloat(into.dtype))
    throw new Error(`${op}_: result type ${dtype} can't be cast to the desired output type ${into.dtype}`);
}

/**
 * Runs a forward that may write in place into `into`, then records it. A rule must read the values its
 * inputs had, so a saved input sharing storage with `into` is saved as a copy taken before the write; the
 * version is bumped before recording, so a saved output (exp_'s result) is saved at its new version.
 */
function recordWrite<K extends OpName>(
  op: K,
  inputs: readonly Tensor[],
  attrs: OpAttrs[K],
  saveInputs: readonly Tensor[],
  into: Tensor | undefined,
  forward: () => Tensor,
  saveOutput = false,
): Tensor {
  const copies = into && needsRecord(inputs) ? saveInputs.map((t) => (t.storage === into.storage ? contiguousCopy(t) : null)) : [];
  const out = forward();
  if (into) into.bumpVersion();
  record(op, inputs, out, attrs, saveOutput ? [out] : saveInputs.map((t, i) => copies[i] ?? t));
  for (const c of copies) c?.dispose();
  return out;
}

// ---- unary ---------------------------------------------------------------------------------------------

export type UnaryName = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid' | 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'erfinv';
/** Unary ops on autocast's f32 list (PyTorch's: exp, log, rsqrt, erfinv and kin). */
const F32_UNARY = new Set<UnaryName>(['exp', 'log', 'rsqrt', 'erfinv']);
/** Ops whose gradient rule reads the output rather than the input. */
const SAVES_OUTPUT = new Set<UnaryName>(['exp', 'tanh', 'sigmoid', 'sqrt', 'rsqrt', 'erfinv']);

export function unary(name: UnaryName, x: Tensor, into?: Tensor): Tensor {
  if (!into && F32_UNARY.has(name) && autocasting()) return runAutocast('f32', [x], (x32) => unary(name, x32));
  x.check(name);
  const def: ExprDef = EXPR[name];
  const outDtype = def.float && !isFloat(x.dtype) ? 'f32' : x.dtype;
  checkInto(name, into, x.shape, outDtype);
  const saveOut = SAVES_OUTPUT.has(name);
  return recordWrite(name, [x], {}, saveOut ? [] : [x], into, () => launch(name, [x], x.shape, outDtype, into?.dtype ?? outDtype, [], into), saveOut);
}

// ---- binary --------------------------------------------------------------------------------------------

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'minimum' | 'maximum';
type ScalarName = 'add_scalar' | 'mul_scalar' | 'div_scalar' | 'rsub_scalar' | 'rdiv_scalar' | 'pow_scalar' | 'rpow_scalar';

function checkScalar(op: string, s: number): void {
  if (typeof s !== 'number') throw new Error(`${op}: expected a Tensor or a number, got ${typeof s}`);
}

function binaryTensors(name: BinaryName, a: Tensor, b: Tensor, into?: Tensor): Tensor {
  a.check(name);
  b.check(name);
  const shape = broadcastShapes(name, a.shape, b.shape);
  let dtype = promoteTypes(a.dtype, b.dtype);
  if ((EXPR[name] as ExprDef).float && !isFloat(dtype)) dtype = 'f32';
  checkInto(name, into, shape, dtype);
  const saves = name === 'add' || name === 'sub' ? [] : name === 'div' && !b.requiresGrad ? [b] : [a, b];
  return recordWrite(name, [a, b], {}, saves, into, () => launch(name, [a, b], shape, dtype, into?.dtype ?? dtype, [], into));
}

function scalarOp(name: ScalarName, x: Tensor, s: number, into?: Tensor): Tensor {
  x.check(name);
  checkScalar(name, s);
  let dtype = promoteWithScalar(x.dtype, s);
  if ((EXPR[name] as ExprDef).float && !isFloat(dtype)) dtype = 'f32';
  checkInto(name, into, x.shape, dtype);
  const forward = (): Tensor => launch(name, [x], x.shape, dtype, into?.dtype ?? dtype, [s], into);
  const saves = name === 'pow_scalar' || name === 'rdiv_scalar' ? [x] : [];
  return recordWrite(name, [x], { s }, saves, into, forward, name === 'rpow_scalar');
}

/** Runs `fn` on alpha·b (a temporary when b is a tensor, freed after; its node lives on in the graph). */
function withAlpha(b: TensorOrScalar, alpha: number | undefined, fn: (b: TensorOrScalar) => Tensor): Tensor {
  if (alpha === undefined || alpha === 1) return fn(b);
  if (typeof b === 'number') return fn(b * alpha);
  const scaled = mul(b, alpha);
  try {
    return fn(scaled);
  } finally {
    scaled.dispose();
  }
}

/** a + alpha·b. */
export function add(a: TensorOrScalar, b: TensorOrScalar, alpha?: number, into?: Tensor): Tensor {
  if (alpha !== undefined && alpha !== 1) return withAlpha(b, alpha, (ab) => add(a, ab, undefined, into));
  if (a instanceof Tensor && b instanceof Tensor) return binaryTensors('add', a, b, into);
  if (a instanceof Tensor) return scalarOp('add_scalar', a, b as number, into);
  if (b instanceof Tensor) return scalarOp('add_scalar', b, a, into);
  throw new Error('add: at least one argument must be a Tensor');
}

/** a − alpha·b. */
export function sub(a: TensorOrScalar, b: TensorOrScalar, alpha?: number, into?: Tensor): Tensor {
  if (alpha !== undefined && alpha !== 1) return withAlpha(b, alpha, (ab) => sub(a, ab, undefined, into));
  if (a instanceof Tensor && b instanceof Tensor) return binaryTensors('sub', a, b, into);
  if (a instanceof Tensor) return scalarOp('add_scalar', a, -(b as number), into);
  if (b instanceof Tensor) return scalarOp('rsub_scalar', b, a, into);
  throw new Error('sub: at least one argument must be a Tensor');
}

export function mul(a: TensorOrScalar, b: TensorOrScalar, into?: Tensor): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryTensors('mul', a, b, into);
  if (a instanceof Tensor) return scalarOp('mul_scalar', a, b as number, into);
  if (b instanceof Tensor) return scalarOp('mul_scalar', b, a, into);
  throw new Error('mul: at least one argument must be a Tensor');
}

export function div(a: TensorOrScalar, b: TensorOrScalar, into?: Tensor): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryTensors('div', a, b, into);
  if (a instanceof Tensor) {
    const s = b as number;
    checkScalar('div', s);
    return scalarOp('div_scalar', a, s, into);
  }
  if (b instanceof Tensor) return scalarOp('rdiv_scalar', b, a, into);
  throw new Error('div: at least one argument must be a Tensor');
}

export function pow(a: TensorOrScalar, b: TensorOrScalar, into?: Tensor): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryTensors('pow', a, b, into);
  if (a instanceof Tensor) return scalarOp('pow_scalar', a, b as number, into);
  if (b instanceof Tensor) return scalarOp('rpow_scalar', b, a, into);
  throw new Error('pow: at least one argument must be a Tensor');
}

export function minimum(a: TensorOrScalar, b: TensorOrScalar, into?: Tensor): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryTensors('minimum', a, b, into);
  if (a instanceof Tensor) return clamp(a, undefined, b as number, into);
  if (b instanceof Tensor) return clamp(b, undefined, a, into);
  throw new Error('minimum: at least one argument must be a Tensor');
}

export function maximum(a: TensorOrScalar, b: TensorOrScalar, into?: Tensor): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryTensors('maximum', a, b, into);
  if (a instanceof Tensor) return clamp(a, b as number, undefined, into);
  if (b instanceof Tensor) return clamp(b, a, undefined, into);
  throw new Error('maximum: at least one argument must be a Tensor');
}

function lowest(d: DType): number {
  return isFloat(d) ? -Infinity : d === 'i32' ? -(2 ** 31) : 0;
}
function highest(d: DType): number {
  return isFloat(d) ? Infinity : d === 'i32' ? 2 ** 31 - 1 : 2 ** 32 - 1;
}

export function clamp(x: Tensor, min?: number, max?: number, into?: Tensor): Tensor {
  x.check('clamp');
  if (min === undefined && max === undefined) throw new Error("clamp: at least one of 'min' or 'max' must not be None");
  let dtype = x.dtype;
  for (const v of [min, max]) if (v !== undefined) dtype = promoteWithScalar(dtype, v);
  const lo = min ?? lowest(dtype);
  const hi = max ?? highest(dtype);
  checkInto('clamp', into, x.shape, dtype);
  return recordWrite('clamp', [x], { min: lo, max: hi }, [x], into, () => launch('clamp', [x], x.shape, dtype, into?.dtype ?? dtype, [lo, hi], into));
}

/** Elementwise comparison; the result is a bool tensor and records nothing. */
export function compare(op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge', a: Tensor, b: TensorOrScalar): Tensor {
  a.check(op);
  if (typeof b === 'number') {
    checkScalar(op, b);
    return launch(`${op}_scalar`, [a], a.shape, promoteWithScalar(a.dtype, b), 'bool', [b]);
  }
  b.check(op);
  const shape = broadcastShapes(op, a.shape, b.shape);
  return launch(op, [a, b], shape, promoteTypes(a.dtype, b.dtype), 'bool');
}

/** cond ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  cond.check('where');
  const at = a instanceof Tensor ? a : null;
  const bt = b instanceof Tensor ? b : null;
  const dtype =
    at && bt ? promoteTypes(at.dtype, bt.dtype) : at ? promoteWithScalar(at.dtype, b as number) : bt ? promoteWithScalar(bt.dtype, a as number) : 'f32';
  // Number arms go to the kernel as uniforms (no 0-d tensor per call) unless a tensor arm needs its gradient.
  if (!(at && bt) && !at?.requiresGrad && !bt?.requiresGrad) {
    if (at) return launch('where_ts', [cond, at.check('where')], broadcastShapes('where', cond.shape, at.shape), dtype, dtype, [b as number]);
    if (bt) return launch('where_st', [cond, bt.check('where')], broadcastShapes('where', cond.shape, bt.shape), dtype, dtype, [a as number]);
    return launch('where_ss', [cond], cond.shape, dtype, dtype, [a as number, b as number]);
  }
  const temps: Tensor[] = [];
  const asTensor = (v: TensorOrScalar): Tensor => {
    if (v instanceof Tensor) return v.check('where');
    const t = full([], v, dtype);
    temps.push(t);
    return t;
  };
  const A = asTensor(a);
  const B = asTensor(b);
  let shape = broadcastShapes('where', cond.shape, A.shape);
  shape = broadcastShapes('where', shape, B.shape);
  const out = launch('where', [cond, A, B], shape, dtype, dtype);
  record('where', [cond, A, B], out, {}, [cond]);
  for (const t of temps) t.dispose();
  return out;
}

// ---- creation helpers used by ops ----------------------------------------------------------------------

/** A tensor of `shape` filled with `value` (no autograd). */
export function full(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
  const out = empty(shape, dtype, 'full');
  runElementwise(kernelFor('fill', computeType(dtype)), out.operand('full'), [], [value]);
  return out;
}

export function ones(shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return full(shape, 1, dtype);
}

export function zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return full(shape, 0, dtype);
}

// ---- casts and copies ----------------------------------------------------------------------------------

export function cast(x: Tensor, dtype: DType): Tensor {
  x.check('cast');
  if (!isDType(dtype)) throw new Error(`cast: unknown dtype ${describeValue(dtype)} (expected f32, f16, i32, u32 or bool)`);
  if (dtype === 'f16') requireF16('cast');
  const out = launch('copy', [x], x.shape, x.dtype === 'bool' ? 'u32' : x.dtype, dtype);
  if (isFloat(dtype)) record('cast', [x], out, { from: x.dtype });
  return out;
}

/** A contiguous copy that autograd sees as identity ('clone', 'contiguous'). */
export function copyOp(x: Tensor, op: string): Tensor {
  x.check(op);
  const out = launch('copy', [x], x.shape, x.dtype, x.dtype);
  record('copy', [x], out, {});
  return out;
}

/**
 * `x` itself when it is contiguous from element 0 of its buffer, else a contiguous copy (recorded, so
 * gradients flow). For kernels that index their operands from element 0.
 */
export function dense(x: Tensor, op: string): Tensor {
  return x.isContiguous() && x.offset === 0 ? x : copyOp(x, op);
}

/** A contiguous copy for readback, never recorded. */
export function contiguousCopy(x: Tensor): Tensor {
  return launch('copy', [x], x.shape, x.dtype, x.dtype);
}

// ---- in place ------------------------------------------------------------------------------------------

/** Runs an op that writes into `t` (via its `into` argument) after the checks in-place writes need. */
export function inplace<T extends Tensor>(t: T, op: string, fn: (into: Tensor) => Tensor, others: readonly TensorOrScalar[]): T {
  t.checkInplace(op, others);
  fn(t);
  return t;
}

export function copyInto<T extends Tensor>(dst: T, src: Tensor): T {
  dst.checkInplace('copy_', [src]);
  src.check('copy_');
  const shape = broadcastShapes('copy_', dst.shape, src.shape);
  if (!sameShape(shape, dst.shape))
    throw new Error(`copy_: source of shape ${fmt(src.shape)} cannot be broadcast to destination ${fmt(dst.shape)}`);
  launch('copy', [src], dst.shape, src.dtype === 'bool' ? 'u32' : src.dtype, dst.dtype, [], dst);
  dst.bumpVersion();
  if (needsRecord([src])) record('copy', [src], dst, {});
  else recordOverwrite(dst);
  return dst;
}

export function fillInPlace<T extends Tensor>(t: T, value: number, op: string): T {
  t.checkInplace(op);
  runElementwise(kernelFor('fill', computeType(t.dtype)), t.operand(op), [], [value]);
  t.bumpVersion();
  recordOverwrite(t);
  return t;
}

// ---- gradient rules ------------------------------------------------------------------------------------

const grad = (name: ExprName, g: Tensor, inputs: readonly Tensor[], scalars: readonly number[] = []): Tensor =>
  launch(name, [g, ...inputs], broadcastShapes(name, g.shape, inputs[0]?.shape ?? g.shape), 'f32', g.dtype, scalars);

export const elementwiseRules = {
  // d(a+b) = da + db
  add: (g) => [g, g],
  // d(a−b) = da − db
  sub: (g, c) => [g, c.needs(1) ? unaryNoRecord('neg', g) : null],
  // d(a·b) = da·b + a·db
  mul: (g, c) => [c.needs(0) ? mul(g, c.saved(1)) : null, c.needs(1) ? mul(g, c.saved(0)) : null],
  // d(a/b) = da/b − a·db/b²
  div: (g, c) => [
    c.needs(0) ? div(g, c.saved(c.needs(1) ? 1 : 0)) : null,
    c.needs(1) ? grad('div_bw_b', g, [c.saved(0), c.saved(1)]) : null,
  ],
  // d(aᵇ) = b·aᵇ⁻¹·da + aᵇ·ln a·db
  pow: (g, c) => [
    c.needs(0) ? grad('pow_bw_a', g, [c.saved(0), c.saved(1)]) : null,
    c.needs(1) ? grad('pow_bw_b', g, [c.saved(0), c.saved(1)]) : null,
  ],
  // d min(a,b) = da where a<b, db where b<a, half each on ties
  minimum: (g, c) => [grad('min_bw', g, [c.saved(0), c.saved(1)]), grad('min_bw', g, [c.saved(1), c.saved(0)])],
  maximum: (g, c) => [grad('max_bw', g, [c.saved(0), c.saved(1)]), grad('max_bw', g, [c.saved(1), c.saved(0)])],
  // d where(c, a, b) = where(c, da, 0) + where(c, 0, db)
  where: (g, c) => [
    null,
    c.needs(1) ? launch('mask_keep', [c.saved(0), g], g.shape, 'f32', g.dtype) : null,
    c.needs(2) ? launch('mask_drop', [c.saved(0), g], g.shape, 'f32', g.dtype) : null,
  ],
  // d(x+s) = dx
  add_scalar: (g) => [g],
  // d(x·s) = s·dx
  mul_scalar: (g, c) => [scalarNoRecord('mul_scalar', g, c.attrs.s)],
  // d(x/s) = dx/s
  div_scalar: (g, c) => [scalarNoRecord('div_scalar', g, c.attrs.s)],
  // d(s−x) = −dx
  rsub_scalar: (g) => [unaryNoRecord('neg', g)],
  // d(s/x) = −s/x²·dx
  rdiv_scalar: (g, c) => [grad('rdiv_scalar_bw', g, [c.saved(0)], [c.attrs.s])],
  // d(xˢ) = s·xˢ⁻¹·dx
  pow_scalar: (g, c) => [grad('pow_scalar_bw', g, [c.saved(0)], [c.attrs.s])],
  // d(sˣ) = sˣ·ln s·dx
  rpow_scalar: (g, c) => [grad('rpow_scalar_bw', g, [c.saved(0)], [c.attrs.s])],
  // d clamp(x) = dx inside [min, max], 0 outside
  clamp: (g, c) => [grad('clamp_bw', g, [c.saved(0)], [c.attrs.min, c.attrs.max])],
  // d(−x) = −dx
  neg: (g) => [unaryNoRecord('neg', g)],
  // d eˣ = eˣ·dx (saved output)
  exp: (g, c) => [mul(g, c.saved(0))],
  // d ln x = dx/x
  log: (g, c) => [div(g, c.saved(0))],
  // d √x = dx / (2√x) (saved output)
  sqrt: (g, c) => [grad('sqrt_bw', g, [c.saved(0)])],
  // d x^(−½) = −½·y³·dx (saved output y)
  rsqrt: (g, c) => [grad('rsqrt_bw', g, [c.saved(0)])],
  // d|x| = sign(x)·dx
  abs: (g, c) => [grad('abs_bw', g, [c.saved(0)])],
  // d sign(x) = 0
  sign: (g) => [full(g.shape, 0, g.dtype)],
  // d tanh x = (1 − y²)·dx
  tanh: (g, c) => [grad('tanh_bw', g, [c.saved(0)])],
  // d σ(x) = y(1 − y)·dx
  sigmoid: (g, c) => [grad('sigmoid_bw', g, [c.saved(0)])],
  // d relu(x) = [x > 0]·dx
  relu: (g, c) => [grad('relu_bw', g, [c.saved(0)])],
  // d gelu(x) = (Φ(x) + x·φ(x))·dx
  gelu: (g, c) => [grad('gelu_bw', g, [c.saved(0)])],
  gelu_tanh: (g, c) => [grad('gelu_tanh_bw', g, [c.saved(0)])],
  // d x·σ(x) = σ(x)(1 + x(1 − σ(x)))·dx
  silu: (g, c) => [grad('silu_bw', g, [c.saved(0)])],
  // d erfinv(x) = (√π/2)·exp(y²)·dx (saved output y)
  erfinv: (g, c) => [grad('erfinv_bw', g, [c.saved(0)])],
  // d cast(x) = cast back of dx
  cast: (g, c) => [g.dtype === c.attrs.from ? g : launch('copy', [g], g.shape, g.dtype, c.attrs.from)],
  // d copy(x) = dx
  copy: (g) => [g],
} satisfies Pick<GradRules, 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'minimum' | 'maximum' | 'where' | 'add_scalar' | 'mul_scalar' | 'div_scalar' | 'rsub_scalar' | 'rdiv_scalar' | 'pow_scalar' | 'rpow_scalar' | 'clamp' | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid' | 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'erfinv' | 'cast' | 'copy'>;

function unaryNoRecord(name: 'neg', g: Tensor): Tensor {
  return launch(name, [g], g.shape, g.dtype, g.dtype);
}
function scalarNoRecord(name: 'mul_scalar' | 'div_scalar', g: Tensor, s: number): Tensor {
  return launch(name, [g], g.shape, g.dtype, g.dtype, [s]);
}
