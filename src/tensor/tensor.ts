// The Tensor: a strided view (shape, strides, offset, dtype) of a shared GPU Storage, with autograd state.
// Ops live in ./ops (one file per family, forward beside gradient); the methods here only delegate.
// The lib reference travels into tensor.d.ts: consumers compiling for ES2022 still know Symbol.dispose.
/// <reference lib="esnext.disposable" preserve="true" />

import type { Node } from '../autograd/node.js';
import { readBuffer, upload } from '../device/batch.js';
import { type DataArray, type DType, type RawArray, byteSize, hostArrayView, isFloat } from '../kernels/dtype.js';
import { fromHalfBits } from '../kernels/f16.js';
import { type Operand, isContiguous } from '../kernels/operand.js';
import { type Disposable, isGradEnabled, track, untrack } from './scope.js';
import { fmt, numel } from './shape.js';
import { formatTensor } from './format.js';
import { Storage } from './storage.js';
import * as ew from './ops/elementwise.js';
import * as idx from './ops/indexing.js';
import * as mm from './ops/matmul.js';
import * as red from './ops/reduce.js';
import * as vw from './ops/views.js';
import { unfold as unfoldOp } from './ops/unfold.js';
import { backward as runTensorBackward } from './grad.js';

/** Node's util.inspect hook, by its registered name: no `node:util` import, so bundles stay clean. */
const INSPECT: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;

let nextId = 1;
/** Ops whose output shares its input's storage. */
const VIEW_OPS: ReadonlySet<string> = new Set(['reshape', 'permute', 'expand', 'slice', 'unfold']);
let liveTensors = 0;

export type TensorOrScalar = Tensor | number;
export type Dims = number | readonly number[];
export type NestedArray = number | boolean | readonly NestedArray[];

// Result dtypes in the types, so that `await kiln.randn([2]).data()` is a Float32Array without a cast.
// Only what holds for every input is stated; anything that may promote falls back to the DType union.
/** The dtype of `x op y` when y is a number or a tensor of x's dtype: kept for f32/f16, else unknown. */
export type KeepFloat<D extends DType> = D extends 'f32' | 'f16' ? D : DType;
/** The dtype of a float-only op (exp, tanh, …): f16 stays f16, any other dtype computes in f32. */
export type ToFloat<D extends DType> = D extends 'f16' ? 'f16' : 'f32';

export interface TensorInit {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Internal handles (saved for backward) are neither counted nor tracked by scopes. */
  readonly internal?: boolean;
}

/**
 * An n-dimensional array on the GPU. The type parameter is its dtype when known (creation functions and
 * same-dtype ops state it), so `data()` has a precise type; `Tensor` alone means any dtype.
 */
export class Tensor<D extends DType = DType> implements Disposable {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** Offset into the storage, in elements. */
  readonly offset: number;
  readonly dtype: D;
  /** @internal The GPU buffer this tensor views, shared with its views. */
  readonly storage: Storage;
  /** The accumulated gradient of a leaf (or of a tensor that called retainGrad); same dtype as the tensor. */
  grad: Tensor<D> | null = null;
  private _requiresGrad = false;
  private _gradFn: Node<Tensor> | null = null;
  private disposed = false;
  private readonly internal: boolean;
  /** @internal The name a module registered this tensor under (dotted path once the module is a child), for errors. */
  label: string | null = null;

  constructor(init: TensorInit) {
    this.shape = init.shape;
    this.strides = init.strides;
    this.offset = init.offset;
    // The constructor's caller states D (creation functions); an untyped `new Tensor(init)` is Tensor<DType>.
    this.dtype = init.dtype as D;
    this.storage = init.storage;
    this.internal = init.internal ?? false;
    this.storage.retain();
    if (!this.internal) {
      liveTensors += 1;
      track(this);
    }
  }

  // ---- state ------------------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  /** The node that produced this tensor, or null for a leaf. */
  get gradFn(): Node<Tensor> | null {
    return this._gradFn;
  }
  get isLeaf(): boolean {
    return this._gradFn === null;
  }
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** True for a shape-only tensor on the meta device (no GPU memory; any op on it throws). */
  get isMeta(): boolean {
    return this.storage.meta;
  }
  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.shape.length;
  }
  numel(): number {
    return numel(this.shape);
  }
  /** size() → the shape; size(d) → the size of dimension d (negative counts from the end). */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.shape;
    const d = dim < 0 ? dim + this.ndim : dim;
    const s = this.shape[d];
    if (s === undefined) throw new Error(`size: dimension ${dim} out of range for shape ${fmt(this.shape)}`);
    return s;
  }
  isContiguous(): boolean {
    return isContiguous(this);
  }
  /** The metadata without the values (no readback): shape, dtype, requiresGrad and the grad function. */
  toString(): string {
    const parts = [`shape=[${this.shape.join(', ')}]`, `dtype=${this.dtype}`];
    if (this.isMeta) parts.push('device=meta');
    if (this.requiresGrad) parts.push('requiresGrad=true');
    if (this._gradFn) parts.push(`gradFn=<${this._gradFn.name}>`);
    if (this.disposed) parts.push('disposed');
    return `Tensor(${parts.join(', ')})`;
  }
  /** console.log / util.inspect in Node show toString() instead of the object's internals. */
  [INSPECT](): string {
    return this.toString();
  }

  /**
   * The values as PyTorch prints them (reads back): `tensor([[1.5000, 2.0000]], requiresGrad=True)`;
   * more than 1000 elements are summarised with `...`. @example console.log(await t.format())
   */
  async format(): Promise<string> {
    this.check('format');
    const suffixes: string[] = [];
    if (this.dtype !== 'f32') suffixes.push(`dtype=${this.dtype}`);
    if (this._gradFn) suffixes.push(`gradFn=<${this._gradFn.name}>`);
    else if (this.requiresGrad) suffixes.push('requiresGrad=True');
    return formatTensor(await this.readData(), this.shape, this.dtype, suffixes);
  }
  /** Prints format() with console.log. @example await t.print() */
  async print(): Promise<void> {
    console.log(await this.format());
  }

  /** Sets requiresGrad on a leaf (freezing/unfreezing); returns this. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag)
      throw new Error('requiresGrad_: you can only change requiresGrad flags of leaf variables; use detach() instead.');
    if (flag && !isFloat(this.dtype))
      throw new Error(`requiresGrad_: only floating point tensors can require gradients (got dtype ${this.dtype})`);
    this._requiresGrad = flag;
    return this;
  }

  /** @internal Called by record(): this tensor is the output of a recorded node. */
  attachGradFn(node: Node<Tensor>): void {
    if (this._gradFn) this._gradFn.unref();
    node.refs += 1;
    this._gradFn = node;
    this._requiresGrad = true;
  }

  /** Frees the tensor; its storage goes back to the pool when no view or saved tensor still uses it. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.internal) {
      liveTensors -= 1;
      untrack(this);
    }
    if (this._gradFn) {
      this._gradFn.unref();
      this._gradFn = null;
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    this.storage.release();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Throws if this tensor cannot be used by `op` (disposed, or on a lost device). */
  check(op: string): this {
    if (this.disposed) throw new Error(`${op}: tensor ${fmt(this.shape)} (${this.dtype}) was disposed and cannot be used`);
    if (this.storage.meta)
      throw new Error(
        `${op}: ${this.label ? `'${this.label}' ` : ''}${fmt(this.shape)} (${this.dtype}) is a meta tensor (shape only, no data); ` +
          'materialise the module first: module.toEmpty() then module.resetParameters(), or load weights with loadStateDict(sd, { assign: true })',
      );
    this.storage.checkDevice(op);
    return this;
  }

  /** @internal The kernel-level view of this tensor. */
  operand(op: string): Operand {
    this.check(op);
    return { buffer: this.storage.buffer, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /** @internal A view sharing storage, with the given layout and no autograd history. */
  withLayout(shape: readonly number[], strides: readonly number[], offset: number, internal = false): Tensor {
    return new Tensor({ storage: this.storage, shape, strides, offset, dtype: this.dtype, internal });
  }

  /** @internal A handle saved for backward: keeps the storage alive, not tracked by scopes. */
  internalView(): Tensor {
    return this.withLayout(this.shape, this.strides, this.offset, true);
  }

  /** A tensor sharing storage with this one, cut from the graph. */
  detach(): Tensor<D> {
    this.check('detach');
    return this.withLayout(this.shape, this.strides, this.offset) as Tensor<D>;
  }

  /** @internal Marks the storage as written in place. */
  bumpVersion(): void {
    this.storage.version += 1;
  }

  /** @internal Throws for in-place writes that autograd cannot represent. */
  checkInplace(op: string, others: readonly TensorOrScalar[] = []): void {
    this.check(op);
    if (this.shape.some((n, d) => n > 1 && this.strides[d] === 0))
      throw new Error(
        `${op}: unsupported operation: more than one element of the written-to tensor ${fmt(this.shape)} (strides ${fmt(this.strides)}) ` +
          'refers to a single memory location; clone() it first',
      );
    if (!isGradEnabled()) return;
    const othersNeed = others.some((o) => o instanceof Tensor && o.requiresGrad);
    if (this.requiresGrad && this.isLeaf)
      throw new Error(`${op}: a leaf tensor that requires grad is being used in an in-place operation (use kiln.noGrad)`);
    // The base's history would not see a write through its view (there is no view tracking), so refuse it.
    if (this._gradFn && VIEW_OPS.has(this._gradFn.name))
      throw new Error(`${op}: in-place write into a view (${this._gradFn.name}) of a tensor that requires grad is not supported by autograd; clone() the view first`);
    if (othersNeed && this.isLeaf && !this.requiresGrad && this.storageShared())
      throw new Error(`${op}: in-place write of a tensor that requires grad into a view is not supported by autograd`);
  }

  private storageShared(): boolean {
    return !(this.offset === 0 && this.isContiguous() && this.numel() * byteSize(this.dtype) === this.storage.bytes);
  }

  /**
   * Copies raw host bytes into this contiguous tensor from its first element on: an in-place write with no
   * autograd, for loaders that pack data themselves (8-bit pixels four to a u32 word). The byte offset of
   * the first element must be a multiple of 4.
   */
  writeBytes_(data: ArrayBufferView): this {
    this.check('writeBytes_');
    const start = this.offset * byteSize(this.dtype);
    const room = this.numel() * byteSize(this.dtype);
    if (!this.isContiguous() || start % 4 !== 0 || data.byteLength > Math.ceil(room / 4) * 4)
      throw new Error(`writeBytes_: needs a contiguous tensor starting on a 4-byte boundary with room for ${data.byteLength} bytes, got ${fmt(this.shape)} ${this.dtype} at element ${this.offset}`);
    upload(this.storage.buffer, start, data);
    this.bumpVersion();
    return this;
  }

  // ---- readback ---------------------------------------------------------------------------------------

  /** Reads the values back: Float32Array for f32/f16, Int32Array for i32, Uint32Array for u32/bool. */
  async data(): Promise<DataArray<D>> {
    return (await this.readData()) as DataArray<D>;
  }

  private async readData(): Promise<Float32Array | Int32Array | Uint32Array> {
    this.check('data');
    if (this.dtype === 'f16') {
      const bits = await this.rawData();
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = fromHalfBits((bits as Uint16Array)[i]!);
      return out;
    }
    const bytes = await this.readContiguousBytes();
    // The readback buffer is already a fresh copy of exactly these bytes: view it, do not copy it again.
    return hostArrayView(this.dtype, bytes, this.numel());
  }

  /** The raw stored values: Uint16Array of binary16 bits for f16, else as data(). */
  async rawData(): Promise<RawArray<D>> {
    this.check('rawData');
    if (this.dtype !== 'f16') return (await this.readData()) as RawArray<D>;
    const bytes = await this.readContiguousBytes();
    return new Uint16Array(bytes, 0, this.numel()) as RawArray<D>;
  }

  private async readContiguousBytes(): Promise<ArrayBuffer> {
    const n = this.numel() * byteSize(this.dtype);
    if (n === 0) return new ArrayBuffer(0);
    const elemOffsetBytes = this.offset * byteSize(this.dtype);
    if (this.isContiguous() && elemOffsetBytes % 4 === 0) return readBuffer(this.storage.buffer, elemOffsetBytes, n);
    const c = ew.contiguousCopy(this);
    try {
      return await readBuffer(c.storage.buffer, 0, n);
    } finally {
      c.dispose();
    }
  }

  /** Nested JS arrays (a number for a 0-d tensor). */
  async toArray(): Promise<NestedArray> {
    const flat = Array.from(await this.data(), Number);
    const build = (dim: number, start: number): NestedArray => {
      if (dim === this.ndim) return flat[start]!;
      const step = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, start + i * step));
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel() !== 1)
      throw new Error(`item: a Tensor with ${this.numel()} elements cannot be converted to a scalar (shape ${fmt(this.shape)})`);
    return (await this.data())[0]!;
  }

  // ---- autograd ---------------------------------------------------------------------------------------

  /** Computes gradients of this tensor w.r.t. graph leaves; `grad` defaults to ones for a scalar. */
  backward(grad?: Tensor, options: { retainGraph?: boolean } = {}): void {
    runTensorBackward(this, grad, options.retainGraph ?? false);
  }

  /** A unary op whose result has this tensor's dtype. */
  private sameUnary(name: ew.UnaryName): Tensor<D> {
    return ew.unary(name, this) as Tensor<D>;
  }
  /** A float-only unary op: f16 stays f16, any other dtype computes in f32. */
  private floatUnary(name: ew.UnaryName): Tensor<ToFloat<D>> {
    return ew.unary(name, this) as Tensor<ToFloat<D>>;
  }

  // ---- elementwise ------------------------------------------------------------------------------------

  add(o: number | Tensor<D>, opts?: { alpha?: number }): Tensor<KeepFloat<D>>;
  add(o: TensorOrScalar, opts?: { alpha?: number }): Tensor;
  add(o: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return ew.add(this, o, opts?.alpha);
  }
  sub(o: number | Tensor<D>, opts?: { alpha?: number }): Tensor<KeepFloat<D>>;
  sub(o: TensorOrScalar, opts?: { alpha?: number }): Tensor;
  sub(o: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return ew.sub(this, o, opts?.alpha);
  }
  mul(o: number | Tensor<D>): Tensor<KeepFloat<D>>;
  mul(o: TensorOrScalar): Tensor;
  mul(o: TensorOrScalar): Tensor {
    return ew.mul(this, o);
  }
  div(o: number | Tensor<D>): Tensor<KeepFloat<D>>;
  div(o: TensorOrScalar): Tensor;
  div(o: TensorOrScalar): Tensor {
    return ew.div(this, o);
  }
  pow(o: number | Tensor<D>): Tensor<KeepFloat<D>>;
  pow(o: TensorOrScalar): Tensor;
  pow(o: TensorOrScalar): Tensor {
    return ew.pow(this, o);
  }
  minimum(o: number | Tensor<D>): Tensor<KeepFloat<D>>;
  minimum(o: TensorOrScalar): Tensor;
  minimum(o: TensorOrScalar): Tensor {
    return ew.minimum(this, o);
  }
  maximum(o: number | Tensor<D>): Tensor<KeepFloat<D>>;
  maximum(o: TensorOrScalar): Tensor;
  maximum(o: TensorOrScalar): Tensor {
    return ew.maximum(this, o);
  }
  neg(): Tensor<D> {
    return this.sameUnary('neg');
  }
  exp(): Tensor<ToFloat<D>> {
    return this.floatUnary('exp');
  }
  log(): Tensor<ToFloat<D>> {
    return this.floatUnary('log');
  }
  sqrt(): Tensor<ToFloat<D>> {
    return this.floatUnary('sqrt');
  }
  rsqrt(): Tensor<ToFloat<D>> {
    return this.floatUnary('rsqrt');
  }
  abs(): Tensor<D> {
    return this.sameUnary('abs');
  }
  sign(): Tensor<D> {
    return this.sameUnary('sign');
  }
  tanh(): Tensor<ToFloat<D>> {
    return this.floatUnary('tanh');
  }
  sigmoid(): Tensor<ToFloat<D>> {
    return this.floatUnary('sigmoid');
  }
  relu(): Tensor<D> {
    return this.sameUnary('relu');
  }
  /** GELU; `approximate: 'tanh'` selects the tanh form (PyTorch's argument). */
  gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor<ToFloat<D>> {
    return this.floatUnary(opts?.approximate === 'tanh' ? 'gelu_tanh' : 'gelu');
  }
  silu(): Tensor<ToFloat<D>> {
    return this.floatUnary('silu');
  }
  /** The inverse error function on (−1, 1). */
  erfinv(): Tensor<ToFloat<D>> {
    return this.floatUnary('erfinv');
  }
  square(): Tensor<D> {
    return ew.mul(this, this) as Tensor<D>;
  }
  reciprocal(): Tensor<ToFloat<D>> {
    return ew.div(1, this) as Tensor<ToFloat<D>>;
  }
  clamp(min?: number | null, max?: number | null): Tensor<KeepFloat<D>> {
    return ew.clamp(this, min ?? undefined, max ?? undefined) as Tensor<KeepFloat<D>>;
  }
  where(cond: Tensor, other: TensorOrScalar): Tensor {
    return ew.where(cond, this, other);
  }
  eq(o: TensorOrScalar): Tensor<'bool'> {
    return ew.compare('eq', this, o) as Tensor<'bool'>;
  }
  ne(o: TensorOrScalar): Tensor<'bool'> {
    return ew.compare('ne', this, o) as Tensor<'bool'>;
  }
  lt(o: TensorOrScalar): Tensor<'bool'> {
    return ew.compare('lt', this, o) as Tensor<'bool'>;
  }
  le(o: TensorOrScalar): Tensor<'bool'> {
    return ew.compare('le', this, o) as Tensor<'bool'>;
  }
  gt(o: TensorOrScalar): Tensor<'bool'> {
    return ew.compare('gt', this, o) as Tensor<'bool'>;
  }
  ge(o: TensorOrScalar): Tensor<'bool'> {
    return ew.compare('ge', this, o) as Tensor<'bool'>;
  }
  logicalNot(): Tensor<'bool'> {
    return ew.compare('eq', this, 0) as Tensor<'bool'>;
  }

  // ---- in place ---------------------------------------------------------------------------------------

  add_(o: TensorOrScalar, opts?: { alpha?: number }): this {
    return ew.inplace(this, 'add_', (x) => ew.add(x, o, opts?.alpha, x), [o]);
  }
  sub_(o: TensorOrScalar, opts?: { alpha?: number }): this {
    return ew.inplace(this, 'sub_', (x) => ew.sub(x, o, opts?.alpha, x), [o]);
  }
  mul_(o: TensorOrScalar): this {
    return ew.inplace(this, 'mul_', (x) => ew.mul(x, o, x), [o]);
  }
  div_(o: TensorOrScalar): this {
    return ew.inplace(this, 'div_', (x) => ew.div(x, o, x), [o]);
  }
  pow_(o: TensorOrScalar): this {
    return ew.inplace(this, 'pow_', (x) => ew.pow(x, o, x), [o]);
  }
  clamp_(min?: number | null, max?: number | null): this {
    return ew.inplace(this, 'clamp_', (x) => ew.clamp(x, min ?? undefined, max ?? undefined, x), []);
  }
  neg_(): this {
    return ew.inplace(this, 'neg_', (x) => ew.unary('neg', x, x), []);
  }
  exp_(): this {
    return ew.inplace(this, 'exp_', (x) => ew.unary('exp', x, x), []);
  }
  relu_(): this {
    return ew.inplace(this, 'relu_', (x) => ew.unary('relu', x, x), []);
  }
  sqrt_(): this {
    return ew.inplace(this, 'sqrt_', (x) => ew.unary('sqrt', x, x), []);
  }
  /** Copies `src` (broadcast and cast to this tensor's dtype) into this tensor. */
  copy_(src: Tensor): this {
    return ew.copyInto(this, src);
  }
  zero_(): this {
    return ew.fillInPlace(this, 0, 'zero_');
  }
  fill_(value: number): this {
    return ew.fillInPlace(this, value, 'fill_');
  }

  // ---- types --------------------------------------------------------------------------------------------

  cast<T extends DType>(dtype: T): Tensor<T> {
    return ew.cast(this, dtype) as Tensor<T>;
  }
  /** Same as cast (PyTorch's `to(dtype)`); returns this tensor when it already has that dtype. */
  to<T extends DType>(dtype: T): Tensor<T> {
    const from: DType = this.dtype;
    return (from === dtype ? this : ew.cast(this, dtype)) as Tensor<T>;
  }
  float(): Tensor<'f32'> {
    return this.to('f32');
  }
  half(): Tensor<'f16'> {
    return this.to('f16');
  }
  /** A copy in PyTorch's sense: same values, new storage, gradient flows back. */
  clone(): Tensor<D> {
    return ew.copyOp(this, 'clone') as Tensor<D>;
  }
  /** This tensor when already contiguous, else a contiguous copy. */
  contiguous(): Tensor<D> {
    return this.isContiguous() ? this : (ew.copyOp(this, 'contiguous') as Tensor<D>);
  }

  // ---- views ------------------------------------------------------------------------------------------

  reshape(shape: readonly number[]): Tensor<D> {
    return vw.reshape(this, shape, 'reshape') as Tensor<D>;
  }
  /** Like reshape, but refuses when the layout would need a copy (PyTorch's view). */
  view(shape: readonly number[]): Tensor<D> {
    return vw.view(this, shape) as Tensor<D>;
  }
  permute(dims: readonly number[]): Tensor<D> {
    return vw.permute(this, dims) as Tensor<D>;
  }
  transpose(dim0: number, dim1: number): Tensor<D> {
    return vw.transpose(this, dim0, dim1) as Tensor<D>;
  }
  /** The transpose of a 2-D tensor (PyTorch's t()). */
  t(): Tensor<D> {
    if (this.ndim > 2) throw new Error(`t: expects a tensor with <= 2 dimensions, but got ${this.ndim}-D ${fmt(this.shape)}`);
    return this.ndim < 2 ? this : (vw.transpose(this, 0, 1) as Tensor<D>);
  }
  /** The last two dimensions swapped (PyTorch's mT). */
  get mT(): Tensor<D> {
    return vw.transpose(this, -2, -1) as Tensor<D>;
  }
  expand(shape: readonly number[]): Tensor<D> {
    return vw.expand(this, shape) as Tensor<D>;
  }
  expandAs(other: Tensor): Tensor<D> {
    return vw.expand(this, other.shape) as Tensor<D>;
  }
  /** Elements start..end (exclusive) with step along `dim`, PyTorch slicing semantics (clamped, negative ok). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor<D> {
    return vw.slice(this, dim, start, end, step) as Tensor<D>;
  }
  narrow(dim: number, start: number, length: number): Tensor<D> {
    return vw.narrow(this, dim, start, length) as Tensor<D>;
  }
  /** Selects index `i` along `dim`, removing it (PyTorch's select / x[i]). */
  select(dim: number, index: number): Tensor<D> {
    return vw.selectIndex(this, dim, index) as Tensor<D>;
  }
  squeeze(dim?: Dims): Tensor<D> {
    return vw.squeeze(this, dim) as Tensor<D>;
  }
  unsqueeze(dim: number): Tensor<D> {
    return vw.unsqueeze(this, dim) as Tensor<D>;
  }
  flatten(startDim = 0, endDim = -1): Tensor<D> {
    return vw.flatten(this, startDim, endDim) as Tensor<D>;
  }
  chunk(chunks: number, dim = 0): Tensor<D>[] {
    return vw.chunk(this, chunks, dim) as Tensor<D>[];
  }
  split(size: number | readonly number[], dim = 0): Tensor<D>[] {
    return vw.split(this, size, dim) as Tensor<D>[];
  }
  /** Windows of `size` elements `step` apart along `dim`, as a view with a trailing window dim (PyTorch's unfold). */
  unfold(dim: number, size: number, step: number): Tensor<D> {
    return unfoldOp(this, dim, size, step) as Tensor<D>;
  }

  // ---- reductions ---------------------------------------------------------------------------------------

  sum(dims?: Dims, keepdim = false): Tensor<D extends 'bool' ? 'i32' : D> {
    return red.sum(this, dims, keepdim) as Tensor<D extends 'bool' ? 'i32' : D>;
  }
  mean(dims?: Dims, keepdim = false): Tensor<D> {
    return red.mean(this, dims, keepdim) as Tensor<D>;
  }
  /** Maximum values over `dims` (all when omitted); indices come from argmax. */
  max(dims?: Dims, keepdim = false): Tensor<D> {
    return red.amax(this, dims, keepdim) as Tensor<D>;
  }
  min(dims?: Dims, keepdim = false): Tensor<D> {
    return red.amin(this, dims, keepdim) as Tensor<D>;
  }
  amax(dims?: Dims, keepdim = false): Tensor<D> {
    return red.amax(this, dims, keepdim) as Tensor<D>;
  }
  amin(dims?: Dims, keepdim = false): Tensor<D> {
    return red.amin(this, dims, keepdim) as Tensor<D>;
  }
  /** Index of the maximum along `dim` (of the flattened tensor when omitted), as i32. */
  argmax(dim?: number, keepdim = false): Tensor<'i32'> {
    return red.argmax(this, dim, keepdim) as Tensor<'i32'>;
  }
  argmin(dim?: number, keepdim = false): Tensor<'i32'> {
    return red.argmin(this, dim, keepdim) as Tensor<'i32'>;
  }
  /** Variance with Bessel's correction by default (`correction: 1`), as torch.var. */
  var(dims?: Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor<D> {
    return red.variance(this, dims, opts?.correction ?? 1, opts?.keepdim ?? false) as Tensor<D>;
  }
  std(dims?: Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor<D> {
    const v = red.variance(this, dims, opts?.correction ?? 1, opts?.keepdim ?? false);
    const out = v.sqrt();
    v.dispose();
    return out as Tensor<D>;
  }

  // ---- linear algebra, indexing -------------------------------------------------------------------------

  /** Matrix product; both operands must have the same (floating-point) dtype. */
  matmul(o: Tensor<D>): Tensor<D>;
  matmul(o: Tensor): Tensor;
  matmul(o: Tensor): Tensor {
    return mm.matmul(this, o);
  }
  gather(dim: number, index: Tensor): Tensor<D> {
    return idx.gather(this, dim, index) as Tensor<D>;
  }
  indexSelect(dim: number, index: Tensor): Tensor<D> {
    return idx.indexSelect(this, dim, index) as Tensor<D>;
  }
  /** Out of place scatter-add: a copy of this tensor with `src` added at `index` along `dim`. */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor<D> {
    return idx.scatterAdd(this, dim, index, src) as Tensor<D>;
  }

  static liveCount(): number {
    return liveTensors;
  }
}
