// The one builder of generated elementwise kernels: N strided inputs (broadcast strides are 0), one strided
// output, an expression over compute-type values `a0..a2` and uniform scalars `s0, s1`. Shapes and strides
// are uniforms, so a kernel is compiled once per (expression, dtypes) and serves every size and layout.

import { dispatch, grid } from '../device/batch.js';
import { type DType, byteSize, wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, coalesce, whole } from './operand.js';
import { wgslFile } from './source.js';
import { runTranspose, transposeApplies } from './transpose.js';
import { splitForBinding } from './windows.js';

export const MAX_RANK = 8;
const WG = 256;
const mathLib = wgslFile('math', new URL('./wgsl/math.wgsl', import.meta.url));

export interface ElementwiseKernel {
  /** Stable name for errors and caching, e.g. 'add'. */
  readonly name: string;
  /** WGSL expression over `a0..a{n-1}` (compute-typed inputs) and `s0, s1` (compute-typed scalars). */
  readonly expr: string;
  /** The compute type of the expression's inputs and scalars. */
  readonly compute: 'f32' | 'i32' | 'u32';
  /** Type the expression yields; converted to the output's storage type. 'bool' yields a WGSL bool. */
  readonly result: 'f32' | 'i32' | 'u32' | 'bool';
}

function convert(value: string, from: ElementwiseKernel['result'], to: DType): string {
  const st = wgslStorageType(to);
  if (from === 'bool') return to === 'bool' ? `select(0u, 1u, ${value})` : `select(${st}(0), ${st}(1), ${value})`;
  if (to === 'bool') return `select(0u, 1u, ${value} != ${from}(0))`;
  return `${st}(${value})`;
}

function load(k: number, dtype: DType, compute: string, alias: boolean): string {
  const v = alias ? `out[a${k}]` : `in${k}[a${k}]`;
  if (dtype === 'bool') return compute === 'u32' ? v : `${compute}(${v})`;
  return `${compute}(${v})`;
}

/** WGSL for one elementwise kernel over the given input and output dtypes. */
export function elementwiseWgsl(k: ElementwiseKernel, inputs: readonly DType[], out: DType, rank: number, alias: readonly boolean[] = []): string {
  const f16 = [...inputs, out].includes('f16');
  const n = inputs.length;
  const lines: string[] = [];
  if (f16) lines.push('enable f16;');
  lines.push(
    'struct P { n: u32, rank: u32, s0: u32, s1: u32, offs: vec4<u32>,',
    `  shape: array<vec4<u32>, ${MAX_RANK / 4}>, st: array<vec4<u32>, ${((n + 1) * MAX_RANK) / 4}> }`,
    `@group(0) @binding(0) var<storage, read_write> out: array<${wgslStorageType(out)}>;`,
  );
  let binding = 1;
  inputs.forEach((d, i) => {
    if (!alias[i]) lines.push(`@group(0) @binding(${binding++}) var<storage, read> in${i}: array<${wgslStorageType(d)}>;`);
  });
  lines.push(`@group(0) @binding(${binding}) var<uniform> p: P;`, mathLib.text());
  const offs = ['x', 'y', 'z', 'w'];
  const r4 = MAX_RANK / 4;
  const st = (k: number, d: number): string => `p.st[${k * r4 + Math.floor(d / 4)}][${d % 4}]`;
  // Index arithmetic unrolled for this rank (constant uniform indices; the generic loop over a dynamic
  // rank ran ~4x slower on the software adapter).
  const index: string[] = [];
  if (rank > 0) index.push('  var rem = i;');
  for (let d = rank - 1; d >= 0; d--) {
    const size = `p.shape[${Math.floor(d / 4)}][${d % 4}]`;
    index.push(d === 0 ? `  let c${d} = rem;` : `  let c${d} = rem % ${size};`, ...(d === 0 ? [] : [`  rem = rem / ${size};`]));
  }
  const sumFor = (k: number, base: string): string => [base, ...Array.from({ length: rank }, (_, d) => `c${d} * ${st(k, d)}`)].join(' + ');
  lines.push(
    `@compute @workgroup_size(${WG})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    `  let i = gid.x + gid.y * nwg.x * ${WG}u;`,
    '  if (i >= p.n) { return; }',
    ...index,
    `  let o = ${sumFor(0, 'p.offs.x')};`,
    ...inputs.map((_, j) => `  let a${j} = ${sumFor(j + 1, `p.offs.${offs[j + 1]}`)};`),
    ...inputs.map((d, j) => `  let a${j}v = ${load(j, d, k.compute, alias[j] ?? false)};`),
    `  let s0 = bitcast<${k.compute}>(p.s0);`,
    `  let s1 = bitcast<${k.compute}>(p.s1);`,
    `  out[o] = ${convert(`(${k.expr.replace(/\ba([0-2])\b/g, 'a$1v')})`, k.result, out)};`,
    '}',
  );
  return lines.join('\n');
}

/**
 * WGSL for the contiguous case: every operand walks one unit-stride run, so each invocation moves a vec4
 * of every operand and evaluates the expression per component (fewer, wider loads on every adapter).
 */
export function elementwiseVec4Wgsl(k: ElementwiseKernel, inputs: readonly DType[], out: DType, alias: readonly boolean[] = [], outer = 0): string {
  const rows = outer > 0;
  const f16 = [...inputs, out].includes('f16');
  const offs = ['x', 'y', 'z', 'w'];
  const lines: string[] = [];
  if (f16) lines.push('enable f16;');
  lines.push(
    // rows: [..., R, C] operands (`outer` ≤ 3 axes before C) of unit-stride, 4-aligned rows at their own
    // strides (0 = broadcast) in vec4 units: rs[axis] holds the four operands' strides, dims the outer sizes.
    rows
      ? 'struct P { n: u32, rank: u32, s0: u32, s1: u32, offs: vec4<u32>, rs: array<vec4<u32>, 3>, dims: vec4<u32> }'
      : 'struct P { n: u32, rank: u32, s0: u32, s1: u32, offs: vec4<u32> }',
    `@group(0) @binding(0) var<storage, read_write> out: array<vec4<${wgslStorageType(out)}>>;`,
  );
  let binding = 1;
  inputs.forEach((d, i) => {
    if (!alias[i]) lines.push(`@group(0) @binding(${binding++}) var<storage, read> in${i}: array<vec4<${wgslStorageType(d)}>>;`);
  });
  lines.push(`@group(0) @binding(${binding}) var<uniform> p: P;`, mathLib.text());
  const comps = offs.map((c) => {
    const expr = k.expr.replace(/\ba([0-2])\b/g, `a$1.${c}`);
    return convert(`(${expr})`, k.result, out);
  });
  lines.push(
    `@compute @workgroup_size(${WG})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    `  let i = gid.x + gid.y * nwg.x * ${WG}u;`,
    '  if (i >= p.n) { return; }',
    // dims.w = C / 4; the outer axes from the innermost out, with constant indices (see elementwiseWgsl).
    ...(rows ? ['  var rem = i / p.dims.w;', ...Array.from({ length: outer }, (_, d) => {
      const a = outer - 1 - d;
      return d === outer - 1 ? `  let r${a} = rem;` : `  let r${a} = rem % p.dims[${a}];\n  rem = rem / p.dims[${a}];`;
    })] : []),
    ...inputs.map((d, j) => {
      const rowAt = (o: string): string => Array.from({ length: outer }, (_, a) => ` + r${a} * p.rs[${a}].${o}`).join('');
      const at = (o: string): string => (rows ? `p.offs.${o}${rowAt(o)} + i % p.dims.w` : `p.offs.${o} + i`);
      const src = alias[j] ? `out[${at('x')}]` : `in${j}[${at(offs[j + 1]!)}]`;
      return `  let a${j} = vec4<${k.compute}>(${src});`;
    }),
    `  let s0 = bitcast<${k.compute}>(p.s0);`,
    `  let s1 = bitcast<${k.compute}>(p.s1);`,
    `  out[${rows ? `p.offs.x${Array.from({ length: outer }, (_, a) => ` + r${a} * p.rs[${a}].x`).join('')} + i % p.dims.w` : 'p.offs.x + i'}] = vec4<${wgslStorageType(out)}>(${comps.join(', ')});`,
    '}',
  );
  return lines.join('\n');
}

/** Runs an elementwise kernel: `out` and `inputs` share `out.shape` (inputs already broadcast). */
export function runElementwise(k: ElementwiseKernel, out: Operand, inputs: readonly Operand[], scalars: readonly number[] = []): void {
  if (inputs.length > 3) throw new Error(`kiln: elementwise kernel '${k.name}' takes at most 3 inputs`);
  const n = out.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const c = coalesce(out.shape, [out.strides, ...inputs.map((x) => x.strides)]);
  if (c.shape.length > MAX_RANK) throw new Error(`kiln: '${k.name}' supports at most ${MAX_RANK} non-mergeable dimensions`);
  const ops = [out, ...inputs].map((o, j): Operand => ({ ...o, shape: c.shape, strides: c.strides[j]! }));
  // A plain copy of a transposed view (last two axes swapped): the tiled transpose, bit-identical.
  if (isIdentityCopy(k, out, inputs) && transposeApplies(ops[0]!, ops[1]!)) {
    runTranspose(ops[0]!, ops[1]!);
    return;
  }
  const pieces = splitForBinding(c.shape, ops) ?? [{ shape: c.shape, operands: ops }];
  for (const piece of pieces) launch(k, piece.shape, piece.operands[0]!, piece.operands.slice(1), scalars);
}

/** A kernel that stores its one input unchanged: same dtype in and out, expression `a0`. */
function isIdentityCopy(k: ElementwiseKernel, out: Operand, inputs: readonly Operand[]): boolean {
  return k.expr === 'a0' && inputs.length === 1 && inputs[0]!.dtype === out.dtype;
}

/** True when every operand is one unit-stride run of whole, aligned vec4s. */
function vec4able(shape: readonly number[], ops: readonly Operand[]): boolean {
  return shape.length === 1 && shape[0]! % 4 === 0 && ops.every((o) => o.strides[0] === 1 && o.offset % 4 === 0);
}

/**
 * True for [..., R, C] operands (at most 4 axes) whose rows are unit-stride runs of whole, aligned vec4s at
 * outer strides that are multiples of 4 (0 for an operand broadcast over them: a bias added to a matmul's
 * output; a head split or merge copied through a permuted view).
 */
function vec4Rows(shape: readonly number[], ops: readonly Operand[]): boolean {
  const r = shape.length;
  return r >= 2 && r <= 4 && shape[r - 1]! % 4 === 0
    && ops.every((o) => o.strides[r - 1] === 1 && o.offset % 4 === 0 && o.strides.slice(0, r - 1).every((s) => s % 4 === 0));
}

/** One dispatch over coalesced operands that all fit in their bindings. */
function launch(k: ElementwiseKernel, shape: readonly number[], out: Operand, inputs: readonly Operand[], scalars: readonly number[]): void {
  if (vec4able(shape, [out, ...inputs])) {
    launchVec4(k, shape[0]! / 4, out, inputs, scalars);
    return;
  }
  if (vec4Rows(shape, [out, ...inputs])) {
    launchVec4(k, shape.reduce((a, b) => a * b, 1) / 4, out, inputs, scalars, shape);
    return;
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const u = new UniformWriter().u32(n, shape.length);
  for (let j = 0; j < 2; j++) u.scalar(scalars[j] ?? 0, k.compute);
  u.vecU32([out.offset, ...inputs.map((x) => x.offset)], 4);
  u.vecU32(shape, MAX_RANK);
  for (const o of [out, ...inputs]) u.vecU32(o.strides, MAX_RANK);
  const alias = aliases(k, out, inputs);
  const key = `ew:${k.name}|${k.compute}>${k.result}|${k.expr}|${inputs.map((x) => x.dtype).join(',')}>${out.dtype}|r${shape.length}|${alias.map(Number).join('')}`;
  const code = memo(key, () => elementwiseWgsl(k, inputs.map((x) => x.dtype), out.dtype, shape.length, alias));
  const reads = inputs.filter((_, j) => !alias[j]);
  dispatch({
    kernel: { name: `elementwise:${k.name}`, code, key, bindings: ['write', ...reads.map(() => 'read' as const), 'uniform'] },
    buffers: [whole(out), ...reads.map(whole)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n / WG)),
    work: { op: opName(k), shapes: [shape], bytes: trafficBytes(n, out, inputs) },
  });
}

/** The op for kiln.profile: the kernel's name less its dtype suffix ('add_scalar:f32' → 'add_scalar'). */
const opName = (k: ElementwiseKernel): string => k.name.split(':')[0]!;

/** Bytes an elementwise dispatch moves at least: the output, and each input's distinct (unbroadcast) elements. */
function trafficBytes(n: number, out: Operand, inputs: readonly Operand[]): number {
  let bytes = n * byteSize(out.dtype);
  for (const x of inputs) bytes += x.shape.reduce((a, d, i) => a * (x.strides[i] === 0 ? 1 : d), 1) * byteSize(x.dtype);
  return bytes;
}

/**
 * An input in the output's buffer (an in-place op) cannot also be bound read-only: when it is read at
 * exactly the element being written it is read through the output binding; callers copy other aliases.
 */
function aliases(k: ElementwiseKernel, out: Operand, inputs: readonly Operand[]): boolean[] {
  const alias = inputs.map(
    (x) => x.buffer === out.buffer && x.dtype === out.dtype && x.offset === out.offset && x.window?.offset === out.window?.offset && x.strides.every((v, d) => v === out.strides[d]),
  );
  inputs.forEach((x, j) => {
    if (x.buffer === out.buffer && !alias[j]) throw new Error(`kiln: '${k.name}' reads its output buffer through a different layout; copy the input first`);
  });
  return alias;
}

/** Generated WGSL by kernel key: built once per (expression, dtypes, rank, aliasing). */
const generated = new Map<string, string>();
function memo(key: string, build: () => string): string {
  let code = generated.get(key);
  if (code === undefined) {
    code = build();
    generated.set(key, code);
  }
  return code;
}

/** The vec4 kernel over n4 vec4s; with `rowsShape` ([..., R, C]) the operands are rows at their own strides. */
function launchVec4(k: ElementwiseKernel, n4: number, out: Operand, inputs: readonly Operand[], scalars: readonly number[], rowsShape?: readonly number[]): void {
  const u = new UniformWriter().u32(n4, 1);
  for (let j = 0; j < 2; j++) u.scalar(scalars[j] ?? 0, k.compute);
  u.vecU32([out, ...inputs].map((o) => o.offset / 4), 4);
  const outer = rowsShape === undefined ? 0 : rowsShape.length - 1;
  for (let a = 0; a < (outer > 0 ? 3 : 0); a++) u.vecU32([out, ...inputs].map((o) => (a < outer ? o.strides[a]! / 4 : 0)), 4);
  if (rowsShape !== undefined) u.vecU32([...rowsShape.slice(0, outer), 1, 1, 1].slice(0, 3).concat(rowsShape[outer]! / 4), 4);
  const alias = aliases(k, out, inputs);
  const reads = inputs.filter((_, j) => !alias[j]);
  const key4 = `ew4${outer > 0 ? `r${outer}` : ''}:${k.name}|${k.compute}>${k.result}|${k.expr}|${inputs.map((x) => x.dtype).join(',')}>${out.dtype}|${alias.map(Number).join('')}`;
  dispatch({
    kernel: { name: `elementwise4:${k.name}`, code: memo(key4, () => elementwiseVec4Wgsl(k, inputs.map((x) => x.dtype), out.dtype, alias, outer)), key: key4, bindings: ['write', ...reads.map(() => 'read' as const), 'uniform'] },
    buffers: [whole(out), ...reads.map(whole)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n4 / WG)),
    work: { op: opName(k), shapes: [[n4 * 4]], bytes: trafficBytes(n4 * 4, out, inputs) },
  });
}
