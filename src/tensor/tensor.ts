// The Tensor: a strided view (shape, strides, offset, dtype) of a shared GPU Storage, with autograd state.
// Ops live in ./ops (one file per family, forward beside gradient); the methods here only delegate.

import type { Node } from '../autograd/node.js';
import { readBuffer, upload } from '../device/batch.js';
import { type DType, byteSize, hostArrayView, isFloat } from '../kernels/dtype.js';
import { fromHalfBits } from '../kernels/f16.js';
import { type Operand, isContiguous } from '../kernels/operand.js';
import { type Disposable, isGradEnabled, track, untrack } from './scope.js';
import { fmt, numel } from './shape.js';
import { Storage } from './storage.js';
import * as ew from './ops/elementwise.js';
import * as idx from './ops/indexing.js';
import * as mm from './ops/matmul.js';
import * as red from './ops/reduce.js';
import * as vw from './ops/views.js';
import { unfold as unfoldOp } from './ops/unfold.js';
import { backward as runTensorBackward } from './grad.js';

let nextId = 1;
/** Ops whose output shares its input's storage. */
const VIEW_OPS: ReadonlySet<string> = new Set(['reshape', 'permute', 'expand', 'slice', 'unfold']);
let liveTensors = 0;

export type TensorOrScalar = Tensor | number;
export type Dims = number | readonly number[];
export type NestedArray = number | boolean | readonly NestedArray[];

export interface TensorInit {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Internal handles (saved for backward) are neither counted nor tracked by scopes. */
  readonly internal?: boolean;
}

export class Tensor implements Disposable {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** Offset into the storage, in elements. */
  readonly offset: number;
  readonly dtype: DType;
  readonly storage: Storage;
  /** The accumulated gradient of a leaf (or of a tensor that called retainGrad). */
  grad: Tensor | null = null;
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
    this.dtype = init.dtype;
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
  toString(): string {
    return `Tensor(shape=${fmt(this.shape)}, dtype=${this.dtype}${this.isMeta ? ', device=meta' : ''}${this.requiresGrad ? ', requiresGrad' : ''})`;
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
  detach(): Tensor {
    this.check('detach');
    return this.withLayout(this.shape, this.strides, this.offset);
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
  async data(): Promise<Float32Array | Int32Array | Uint32Array> {
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
  async rawData(): Promise<Uint16Array | Float32Array | Int32Array | Uint32Array> {
    this.check('rawData');
    if (this.dtype !== 'f16') return this.data();
    const bytes = await this.readContiguousBytes();
    return new Uint16Array(bytes, 0, this.numel());
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

  // ---- elementwise ------------------------------------------------------------------------------------

  add(o: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return ew.add(this, o, opts?.alpha);
  }
  sub(o: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return ew.sub(this, o, opts?.alpha);
  }
  mul(o: TensorOrScalar): Tensor {
    return ew.mul(this, o);
  }
  div(o: TensorOrScalar): Tensor {
    return ew.div(this, o);
  }
  pow(o: TensorOrScalar): Tensor {
    return ew.pow(this, o);
  }
  minimum(o: TensorOrScalar): Tensor {
    return ew.minimum(this, o);
  }
  maximum(o: TensorOrScalar): Tensor {
    return ew.maximum(this, o);
  }
  neg(): Tensor {
    return ew.unary('neg', this);
  }
  exp(): Tensor {
    return ew.unary('exp', this);
  }
  log(): Tensor {
    return ew.unary('log', this);
  }
  sqrt(): Tensor {
    return ew.unary('sqrt', this);
  }
  rsqrt(): Tensor {
    return ew.unary('rsqrt', this);
  }
  abs(): Tensor {
    return ew.unary('abs', this);
  }
  sign(): Tensor {
    return ew.unary('sign', this);
  }
  tanh(): Tensor {
    return ew.unary('tanh', this);
  }
  sigmoid(): Tensor {
    return ew.unary('sigmoid', this);
  }
  relu(): Tensor {
    return ew.unary('relu', this);
  }
  /** GELU; `approximate: 'tanh'` selects the tanh form (PyTorch's argument). */
  gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor {
    return ew.unary(opts?.approximate === 'tanh' ? 'gelu_tanh' : 'gelu', this);
  }
  silu(): Tensor {
    return ew.unary('silu', this);
  }
  /** The inverse error function on (−1, 1). */
  erfinv(): Tensor {
    return ew.unary('erfinv', this);
  }
  square(): Tensor {
    return ew.mul(this, this);
  }
  reciprocal(): Tensor {
    return ew.div(1, this);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return ew.clamp(this, min ?? undefined, max ?? undefined);
  }
  where(cond: Tensor, other: TensorOrScalar): Tensor {
    return ew.where(cond, this, other);
  }
  eq(o: TensorOrScalar): Tensor {
    return ew.compare('eq', this, o);
  }
  ne(o: TensorOrScalar): Tensor {
    return ew.compare('ne', this, o);
  }
  lt(o: TensorOrScalar): Tensor {
    return ew.compare('lt', this, o);
  }
  le(o: TensorOrScalar): Tensor {
    return ew.compare('le', this, o);
  }
  gt(o: TensorOrScalar): Tensor {
    return ew.compare('gt', this, o);
  }
  ge(o: TensorOrScalar): Tensor {
    return ew.compare('ge', this, o);
  }
  logicalNot(): Tensor {
    return ew.compare('eq', this, 0);
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

  cast(dtype: DType): Tensor {
    return ew.cast(this, dtype);
  }
  /** Same as cast (PyTorch's `to(dtype)`); returns this tensor when it already has that dtype. */
  to(dtype: DType): Tensor {
    return dtype === this.dtype ? this : ew.cast(this, dtype);
  }
  float(): Tensor {
    return this.to('f32');
  }
  half(): Tensor {
    return this.to('f16');
  }
  /** A copy in PyTorch's sense: same values, new storage, gradient flows back. */
  clone(): Tensor {
    return ew.copyOp(this, 'clone');
  }
  /** This tensor when already contiguous, else a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous() ? this : ew.copyOp(this, 'contiguous');
  }

  // ---- views ------------------------------------------------------------------------------------------

  reshape(shape: readonly number[]): Tensor {
    return vw.reshape(this, shape, 'reshape');
  }
  /** Like reshape, but refuses when the layout would need a copy (PyTorch's view). */
  view(shape: readonly number[]): Tensor {
    return vw.view(this, shape);
  }
  permute(dims: readonly number[]): Tensor {
    return vw.permute(this, dims);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return vw.transpose(this, dim0, dim1);
  }
  /** The transpose of a 2-D tensor (PyTorch's t()). */
  t(): Tensor {
    if (this.ndim > 2) throw new Error(`t: expects a tensor with <= 2 dimensions, but got ${this.ndim}-D ${fmt(this.shape)}`);
    return this.ndim < 2 ? this : vw.transpose(this, 0, 1);
  }
  /** The last two dimensions swapped (PyTorch's mT). */
  get mT(): Tensor {
    return vw.transpose(this, -2, -1);
  }
  expand(shape: readonly number[]): Tensor {
    return vw.expand(this, shape);
  }
  expandAs(other: Tensor): Tensor {
    return vw.expand(this, other.shape);
  }
  /** Elements start..end (exclusive) with step along `dim`, PyTorch slicing semantics (clamped, negative ok). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return vw.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return vw.narrow(this, dim, start, length);
  }
  /** Selects index `i` along `dim`, removing it (PyTorch's select / x[i]). */
  select(dim: number, index: number): Tensor {
    return vw.selectIndex(this, dim, index);
  }
  squeeze(dim?: Dims): Tensor {
    return vw.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return vw.unsqueeze(this, dim);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return vw.flatten(this, startDim, endDim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return vw.chunk(this, chunks, dim);
  }
  split(size: number | readonly number[], dim = 0): Tensor[] {
    return vw.split(this, size, dim);
  }
  /** Windows of `size` elements `step` apart along `dim`, as a view with a trailing window dim (PyTorch's unfold). */
  unfold(dim: number, size: number, step: number): Tensor {
    return unfoldOp(this, dim, size, step);
  }

  // ---- reductions ---------------------------------------------------------------------------------------

  sum(dims?: Dims, keepdim = false): Tensor {
    return red.sum(this, dims, keepdim);
  }
  mean(dims?: Dims, keepdim = false): Tensor {
    return red.mean(this, dims, keepdim);
  }
  /** Maximum values over `dims` (all when omitted); indices come from argmax. */
  max(dims?: Dims, keepdim = false): Tensor {
    return red.amax(this, dims, keepdim);
  }
  min(dims?: Dims, keepdim = false): Tensor {
    return red.amin(this, dims, keepdim);
  }
  amax(dims?: Dims, keepdim = false): Tensor {
    return red.amax(this, dims, keepdim);
  }
  amin(dims?: Dims, keepdim = false): Tensor {
    return red.amin(this, dims, keepdim);
  }
  /** Index of the maximum along `dim` (of the flattened tensor when omitted), as i32. */
  argmax(dim?: number, keepdim = false): Tensor {
    return red.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return red.argmin(this, dim, keepdim);
  }
  /** Variance with Bessel's correction by default (`correction: 1`), as torch.var. */
  var(dims?: Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor {
    return red.variance(this, dims, opts?.correction ?? 1, opts?.keepdim ?? false);
  }
  std(dims?: Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor {
    const v = red.variance(this, dims, opts?.correction ?? 1, opts?.keepdim ?? false);
    const out = v.sqrt();
    v.dispose();
    return out;
  }

  // ---- linear algebra, indexing -------------------------------------------------------------------------

  matmul(o: Tensor): Tensor {
    return mm.matmul(this, o);
  }
  gather(dim: number, index: Tensor): Tensor {
    return idx.gather(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return idx.indexSelect(this, dim, index);
  }
  /** Out of place scatter-add: a copy of this tensor with `src` added at `index` along `dim`. */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return idx.scatterAdd(this, dim, index, src);
  }

  static liveCount(): number {
    return liveTensors;
  }
}
