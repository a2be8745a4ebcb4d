// Module: the container of parameters, buffers and submodules, registered under string names so that
// upstream state-dict keys (`in_proj_weight`, `modality_trunks`) are kept exactly, whatever the TypeScript
// property is called. Mirrors torch.nn.Module: deferred (meta) construction, assign-loading, surgery
// (getSubmodule / setSubmodule) and forward hooks. Forward code reads parameters and children through the
// registry at call time, so whatever loadStateDict or setSubmodule installed is what runs.

import { empty, emptyMeta, requireF16 } from '../tensor/alloc.js';
import { checkpoint, isRecordingCheckpoint, recordStateForRecompute } from '../tensor/checkpoint.js';
import { isGradEnabled, noGrad, untrack } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  readonly missingKeys: readonly string[];
  readonly unexpectedKeys: readonly string[];
}

export interface LoadStateDictOptions {
  /** Missing or unexpected keys throw (default true); a shape mismatch always throws. */
  readonly strict?: boolean;
  /**
   * Install the given tensors instead of copying into the existing ones (PyTorch's `assign=True`). The module
   * takes ownership of each: a contiguous, offset-0 leaf of the module's dtype is installed as is, anything
   * else is converted into one (and the given tensor disposed). The new leaf keeps the old one's
   * `requiresGrad`; the old tensor is disposed. This is how a model built on the meta device gets weights.
   */
  readonly assign?: boolean;
}

/** Where a layer's tensors live: allocated on the GPU (default) or shape-only on the meta device. */
export interface FactoryOptions {
  readonly device?: 'gpu' | 'meta';
  /** The dtype of parameters and float buffers (default f32). */
  readonly dtype?: 'f32' | 'f16';
}

/** An initialiser for one tensor, in place and without recording (kiln.nn.init's functions fit). */
export type Initializer = (t: Tensor) => unknown;

/**
 * Per-parameter initialisers replacing a layer's defaults, keyed by local name (`weight`, `bias`, or
 * `out_proj.weight` for a child): what upstream does in `_init_weights` after construction, but drawn once,
 * so an eager and a deferred model draw the same random numbers.
 */
export type InitOverrides = Readonly<Record<string, Initializer>>;

export interface LayerOptions extends FactoryOptions {
  readonly init?: InitOverrides;
}

/** The options a layer passes to its child `name`: the same device and dtype, the `name.`-prefixed inits. */
export function childOptions(opts: LayerOptions, name: string): LayerOptions {
  const init: Record<string, Initializer> = {};
  for (const [k, f] of Object.entries(opts.init ?? {})) if (k.startsWith(`${name}.`)) init[k.slice(name.length + 1)] = f;
  return { device: opts.device, dtype: opts.dtype, init };
}

export type ForwardPreHook<M extends Module = Module> = (module: M, args: unknown[]) => unknown[] | undefined | void;
export type ForwardHook<M extends Module = Module> = (module: M, args: unknown[], output: unknown) => unknown;

/** Returned by the hook registrations: `remove()` unregisters the hook. */
export interface RemovableHandle {
  remove(): void;
}

/** Something `call` can run: a module with a forward method. */
export type Callable = Module & { forward(...args: never[]): unknown };

interface TensorSlot {
  tensor: Tensor | null;
  readonly kind: 'parameter' | 'buffer';
  readonly persistent: boolean;
  /** How to (re)initialise it, and its place in construction order (resetParameters replays that order). */
  readonly init: Initializer | null;
  readonly seq: number;
}

const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((s, i) => s === b[i]);
let creationSeq = 0;
let nextHookId = 0;

export class Module {
  /** train() / eval() mode, read by Dropout and friends. */
  training = true;
  /**
   * `call` runs forward under activation checkpointing (kiln.checkpoint) while gradients are on: the
   * intermediates are recomputed in backward instead of kept. Models set it per transformer block
   * (`{ gradCheckpointing: true }`, as OpenCLIP's set_grad_checkpointing).
   */
  gradCheckpointing = false;
  private readonly slots = new Map<string, TensorSlot>();
  private readonly children_ = new Map<string, Module | null>();
  private readonly preHooks = new Map<number, ForwardPreHook>();
  private readonly postHooks = new Map<number, ForwardHook>();

  private checkName(kind: string, name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${kind}: name must be non-empty and contain no '.', got '${name}'`);
    if (this.slots.has(name) || this.children_.has(name)) throw new Error(`${kind}: attribute '${name}' already exists on ${this.constructor.name}`);
  }

  private addSlot(kind: TensorSlot['kind'], name: string, t: Tensor | null, persistent: boolean, init: Initializer | null): void {
    this.slots.set(name, { tensor: t, kind, persistent, init, seq: creationSeq++ });
    if (t && t.label === null) t.label = name;
  }

  // ---- registration -------------------------------------------------------------------------------------

  /** Registers a parameter (a leaf that requires grad, unless frozen); returns it. */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    this.checkName('registerParameter', name);
    if (t !== null && !t.isLeaf) throw new Error(`registerParameter: '${name}' must be a leaf tensor (use detach())`);
    this.addSlot('parameter', name, t, true, null);
    return t;
  }

  /** Registers a buffer (state that is not a parameter); persistent buffers are part of the state dict. */
  registerBuffer<T extends Tensor | null>(name: string, t: T, opts: { persistent?: boolean } = {}): T {
    this.checkName('registerBuffer', name);
    this.addSlot('buffer', name, t, opts.persistent ?? true, null);
    return t;
  }

  registerModule<M extends Module | null>(name: string, m: M): M {
    this.checkName('registerModule', name);
    this.children_.set(name, m);
    if (m) m.prefixLabels(name);
    return m;
  }

  /** Meta tensors carry their dotted path so that an op using one can name it. */
  private prefixLabels(prefix: string): void {
    for (const [, m] of this.namedModules())
      for (const s of m.slots.values()) if (s.tensor?.isMeta && s.tensor.label !== null) s.tensor.label = `${prefix}.${s.tensor.label}`;
  }

  /**
   * Creates parameter `name` of `shape` (f32 unless `opts.dtype`), initialised by `init` — or by
   * `opts.init[name]` — now, or on the meta device (`opts.device: 'meta'`) only when resetParameters() runs.
   */
  protected createParameter(name: string, shape: readonly number[], init: Initializer, opts: LayerOptions = {}): Tensor {
    return this.create('parameter', name, shape, init, opts, true);
  }

  /** Creates a float buffer as createParameter does (persistent: part of the state dict, as upstream's register_buffer). */
  protected createBuffer(name: string, shape: readonly number[], init: Initializer, opts: LayerOptions = {}, persistent = true): Tensor {
    return this.create('buffer', name, shape, init, opts, persistent);
  }

  private create(kind: TensorSlot['kind'], name: string, shape: readonly number[], init: Initializer, opts: LayerOptions, persistent: boolean): Tensor {
    this.checkName(kind === 'parameter' ? 'registerParameter' : 'registerBuffer', name);
    const dtype = opts.dtype ?? 'f32';
    const fn = opts.init?.[name] ?? init;
    const t = opts.device === 'meta' ? emptyMeta(shape, dtype) : empty(shape, dtype);
    if (!t.isMeta) noGrad(() => fn(t));
    if (kind === 'parameter') t.requiresGrad_(true);
    this.addSlot(kind, name, t, persistent, fn);
    return t;
  }

  // ---- access through the registry ----------------------------------------------------------------------

  /** The parameter registered as `name` here (not in children), or null (absent, or registered as null). */
  getParameter(name: string): Tensor | null {
    const s = this.slots.get(name);
    return s?.kind === 'parameter' ? s.tensor : null;
  }

  /** The buffer registered as `name` here, or null. */
  getBuffer(name: string): Tensor | null {
    const s = this.slots.get(name);
    return s?.kind === 'buffer' ? s.tensor : null;
  }

  /** The parameter or buffer `name` of this module; throws when it is absent or null. */
  protected tensor(name: string): Tensor {
    const t = this.slots.get(name)?.tensor;
    if (!t) throw new Error(`${this.constructor.name}: no parameter or buffer named '${name}'`);
    return t;
  }

  /** The child registered as `name` (whatever setSubmodule installed there). */
  protected child<M extends Module = Module>(name: string): M {
    const m = this.children_.get(name);
    if (!m) throw new Error(`${this.constructor.name}: no submodule named '${name}'`);
    return m as M;
  }

  /** The submodule at dotted `path` ('' is this module), as torch's get_submodule. */
  getSubmodule(path: string): Module {
    let m = this as Module;
    let at = '';
    for (const part of path === '' ? [] : path.split('.')) {
      const next = m.children_.get(part);
      if (!next) throw new Error(`getSubmodule: ${m.constructor.name}${at ? ` at '${at}'` : ''} has no submodule '${part}' (path '${path}')`);
      m = next;
      at = at ? `${at}.${part}` : part;
    }
    return m;
  }

  /**
   * Installs `module` at dotted `path`, replacing the child there or adding one to the parent at the path
   * (torch's set_submodule). Forward code reaches children through the registry, so the new module runs.
   */
  setSubmodule(path: string, module: Module): void {
    const dot = path.lastIndexOf('.');
    const parent = this.getSubmodule(dot < 0 ? '' : path.slice(0, dot));
    const name = path.slice(dot + 1);
    if (name === '') throw new Error(`setSubmodule: empty path '${path}'`);
    if (parent.slots.has(name)) throw new Error(`setSubmodule: '${path}' is a parameter or buffer, not a submodule`);
    parent.children_.set(name, module);
  }

  // ---- running ------------------------------------------------------------------------------------------

  /**
   * Runs `forward` with this module's hooks (torch's `module(x)`): pre-hooks may replace the arguments,
   * forward hooks the output. Layers call their children this way, so hooks and per-block activation
   * checkpointing apply everywhere.
   * @example const y = linear.call(x);
   */
  call<M extends Callable>(this: M, ...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    let a: unknown[] = args;
    for (const h of this.preHooks.values()) {
      const r = h(this, a);
      if (r !== undefined) a = r;
    }
    const run = (...xs: unknown[]): unknown => {
      this.noteModeForRecompute();
      return (this.forward as (...v: unknown[]) => unknown)(...xs);
    };
    let out = this.gradCheckpointing && isGradEnabled() ? checkpointed(run, a) : run(...a);
    for (const h of this.postHooks.values()) {
      const r = h(this, a, out);
      if (r !== undefined) out = r;
    }
    return out as ReturnType<M['forward']>;
  }

  /** Inside a checkpointed forward: a recomputation in backward must see the train/eval mode this forward saw. */
  private noteModeForRecompute(): void {
    if (!isRecordingCheckpoint()) return;
    const mode = this.training;
    recordStateForRecompute(this, () => {
      const now = this.training;
      this.training = mode;
      return () => void (this.training = now);
    });
  }

  /** `hook(module, args)` runs before forward and may return replacement arguments. */
  registerForwardPreHook<M extends Module>(this: M, hook: ForwardPreHook<M>): RemovableHandle {
    return this.addHook(this.preHooks, hook as ForwardPreHook);
  }

  /** `hook(module, args, output)` runs after forward and may return a replacement output. */
  registerForwardHook<M extends Module>(this: M, hook: ForwardHook<M>): RemovableHandle {
    return this.addHook(this.postHooks, hook as ForwardHook);
  }

  private addHook<H>(table: Map<number, H>, hook: H): RemovableHandle {
    const id = nextHookId++;
    table.set(id, hook);
    return { remove: () => void table.delete(id) };
  }

  /** True when forward hooks are registered here (a fused fast path that skips calling children checks it). */
  hasHooks(): boolean {
    return this.preHooks.size > 0 || this.postHooks.size > 0;
  }

  // ---- traversal ----------------------------------------------------------------------------------------

  *namedChildren(): Generator<[string, Module]> {
    for (const [n, m] of this.children_) if (m) yield [n, m];
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and all descendants with their dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }

  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  private *namedSlots(prefix: string, recurse: boolean): Generator<[string, TensorSlot]> {
    const mods: [string, Module][] = recurse ? [...this.namedModules(prefix)] : [[prefix, this]];
    for (const [p, m] of mods) for (const [n, s] of m.slots) yield [p ? `${p}.${n}` : n, s];
  }

  *namedParameters(prefix = '', recurse = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [n, s] of this.namedSlots(prefix, recurse))
      if (s.kind === 'parameter' && s.tensor && !seen.has(s.tensor)) {
        seen.add(s.tensor);
        yield [n, s.tensor];
      }
  }

  parameters(recurse = true): Tensor[] {
    return [...this.namedParameters('', recurse)].map(([, t]) => t);
  }

  *namedBuffers(prefix = '', recurse = true): Generator<[string, Tensor]> {
    for (const [n, s] of this.namedSlots(prefix, recurse)) if (s.kind === 'buffer' && s.tensor) yield [n, s.tensor];
  }

  buffers(recurse = true): Tensor[] {
    return [...this.namedBuffers('', recurse)].map(([, t]) => t);
  }

  /** Parameters and persistent buffers by dotted name, in registration order (tensors are shared, not copied). */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = new Map();
    for (const [p, m] of this.namedModules(prefix)) {
      const key = (n: string): string => (p ? `${p}.${n}` : n);
      for (const [n, s] of m.slots) if (s.tensor && s.kind === 'parameter') out.set(key(n), s.tensor);
      for (const [n, s] of m.slots) if (s.tensor && s.kind === 'buffer' && s.persistent) out.set(key(n), s.tensor);
    }
    return out;
  }

  // ---- loading and materialising ------------------------------------------------------------------------

  /**
   * Loads `sd` into this module's parameters and persistent buffers: copies into them (cast to their
   * dtype), or with `assign` installs the given tensors. With `strict` (the default) any missing or
   * unexpected key throws; a shape mismatch always throws. The error lists every missing, unexpected and
   * wrongly-shaped key.
   */
  loadStateDict(sd: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, opts: LoadStateDictOptions = {}): LoadResult {
    const strict = opts.strict ?? true;
    const given: ReadonlyMap<string, Tensor> = sd instanceof Map ? (sd as ReadonlyMap<string, Tensor>) : new Map(Object.entries(sd as Readonly<Record<string, Tensor>>));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !own.has(k));
    const badShapes: string[] = [];
    for (const [k, t] of own) {
      const src = given.get(k);
      if (src && !sameShape(src.shape, t.shape)) badShapes.push(`${k}: checkpoint ${fmt(src.shape)} vs model ${fmt(t.shape)}`);
    }
    if (badShapes.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      const parts: string[] = [];
      if (strict && missing.length) parts.push(`missing keys (${missing.length}): ${missing.join(', ')}`);
      if (strict && unexpected.length) parts.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
      if (badShapes.length) parts.push(`size mismatch (${badShapes.length}): ${badShapes.join('; ')}`);
      throw new Error(`loadStateDict: error(s) loading state dict for ${this.constructor.name}:\n  ${parts.join('\n  ')}`);
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const src = given.get(k);
        if (!src) continue;
        if (opts.assign) this.assignTensor(k, src);
        else t.copy_(src);
      }
    });
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** Installs `src` as the tensor at dotted `key` (see LoadStateDictOptions.assign). */
  private assignTensor(key: string, src: Tensor): void {
    const dot = key.lastIndexOf('.');
    const owner = this.getSubmodule(dot < 0 ? '' : key.slice(0, dot));
    const slot = owner.slots.get(key.slice(dot + 1))!;
    const old = slot.tensor!;
    let t = src;
    if (src.dtype !== old.dtype || !src.isLeaf || !src.isContiguous() || src.offset !== 0) {
      const converted = src.dtype !== old.dtype ? src.cast(old.dtype) : src.contiguous();
      t = converted === src || !converted.isLeaf ? converted.detach() : converted;
      if (t !== converted) converted.dispose();
      src.dispose();
    }
    if (slot.kind === 'parameter') t.requiresGrad_(old.requiresGrad);
    t.label = old.label;
    slot.tensor = t;
    old.dispose();
  }

  /**
   * Gives every meta parameter and buffer real (uninitialised) GPU storage, keeping shapes, dtypes and
   * requiresGrad (torch's to_empty). Tensors already on the GPU are kept. Follow with resetParameters().
   */
  toEmpty(): this {
    for (const m of this.modules())
      for (const s of m.slots.values()) {
        const old = s.tensor;
        if (!old?.isMeta) continue;
        const t = empty(old.shape, old.dtype);
        if (old.requiresGrad) t.requiresGrad_(true);
        t.label = old.label;
        s.tensor = t;
            old.dispose();
      }
    return this;
  }

  /**
   * (Re)initialises every parameter and buffer that has an initialiser, here and in every descendant, in
   * the order they were created — the order an eager construction draws its random numbers in, so a
   * deferred model after toEmpty() + resetParameters() is bitwise equal to an eager one built from the
   * same seed.
   */
  resetParameters(): this {
    const todo: [string, TensorSlot][] = [...this.namedSlots('', true)].filter(([, s]) => s.init && s.tensor);
    todo.sort((a, b) => a[1].seq - b[1].seq);
    noGrad(() => {
      for (const [name, s] of todo) {
        if (s.tensor!.isMeta) throw new Error(`resetParameters: '${name}' is still on the meta device; call toEmpty() first`);
        s.init!(s.tensor!);
      }
    });
    return this;
  }

  // ---- modes and housekeeping ---------------------------------------------------------------------------

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Converts every floating-point parameter and buffer — and each parameter's `.grad` — to `dtype`, here and
   * in every descendant (torch's `module.to(dtype)`); integer and bool buffers are kept. Names, labels,
   * `requiresGrad` and sharing (one tensor registered under two names stays one tensor) are kept; meta
   * tensors stay meta. Unlike torch, which swaps `param.data` under the same Parameter object, a Kiln tensor
   * has a fixed dtype: the converted tensors are new leaves, so create optimizers after converting (torch's
   * docs advise the same for `.to()`). f16 needs the adapter feature 'shader-f16'.
   * @example model.half(); model.to('f32');
   */
  to(dtype: 'f32' | 'f16'): this {
    const op = `${this.constructor.name}.to`;
    if (dtype !== 'f32' && dtype !== 'f16') throw new Error(`${op}: dtype must be 'f32' or 'f16', got ${JSON.stringify(dtype)}`);
    const slots = [...this.namedSlots('', true)].map(([, s]) => s);
    const todo = slots.filter((s) => s.tensor && (s.tensor.dtype === 'f32' || s.tensor.dtype === 'f16') && s.tensor.dtype !== dtype);
    if (dtype === 'f16' && todo.some((s) => !s.tensor!.isMeta)) requireF16(`${op}('f16')`);
    const done = new Map<Tensor, Tensor>();
    noGrad(() => {
      for (const s of todo) {
        const old = s.tensor!;
        let t = done.get(old);
        if (!t) {
          // under noGrad a cast records nothing: its result is already a fresh leaf
          t = old.isMeta ? emptyMeta(old.shape, dtype) : old.to(dtype);
          if (old.requiresGrad) t.requiresGrad_(true);
          if (old.grad) t.grad = old.grad.to(dtype);
          t.label = old.label;
          // the module outlives any tidy() this runs in: its new tensors are not the scope's to free
          untrack(t);
          if (t.grad) untrack(t.grad);
          done.set(old, t);
        }
        s.tensor = t;
      }
    });
    for (const old of done.keys()) {
      old.grad?.dispose();
      old.dispose();
    }
    return this;
  }

  /** Floating-point parameters and buffers to f16 (torch's `module.half()`); see `to`. */
  half(): this {
    return this.to('f16');
  }

  /** Floating-point parameters and buffers to f32 (torch's `module.float()`); see `to`. */
  float(): this {
    return this.to('f32');
  }

  /** Freezes (false) or unfreezes (true) every parameter. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /** Clears `.grad` of every parameter (set to null, PyTorch's default `set_to_none=True`). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Calls `fn` on every module, children first (as torch.nn.Module.apply). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Disposes every parameter and buffer. */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) t.dispose();
  }

  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.numel(), 0);
  }
}

/** Runs `run(...args)` under kiln.checkpoint with the tensor arguments as its inputs (others pass through). */
function checkpointed(run: (...xs: unknown[]) => unknown, args: readonly unknown[]): unknown {
  const tensors = args.filter((a): a is Tensor => a instanceof Tensor);
  return checkpoint((...ts: Tensor[]) => {
    let i = 0;
    return run(...args.map((a) => (a instanceof Tensor ? ts[i++]! : a)));
  }, ...tensors);
}

export { Tensor };
