// Module: the container of parameters, buffers and submodules, registered under string names so that
// upstream state-dict keys (`in_proj_weight`, `modality_trunks`) are kept exactly, whatever the TypeScript
// property is called. Mirrors torch.nn.Module's names and semantics.

import { noGrad } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  readonly missingKeys: readonly string[];
  readonly unexpectedKeys: readonly string[];
}

const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;

export class Module {
  /** train() / eval() mode, read by Dropout and friends. */
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly bufs = new Map<string, { tensor: Tensor | null; persistent: boolean }>();
  private readonly children_ = new Map<string, Module | null>();

  private checkName(kind: string, name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${kind}: name must be non-empty and contain no '.', got '${name}'`);
    if (this.params.has(name) || this.bufs.has(name) || this.children_.has(name))
      throw new Error(`${kind}: attribute '${name}' already exists on ${this.constructor.name}`);
  }

  /** Registers a parameter (a leaf that requires grad, unless frozen); returns it. */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    this.checkName('registerParameter', name);
    if (t !== null && !t.isLeaf) throw new Error(`registerParameter: '${name}' must be a leaf tensor (use detach())`);
    this.params.set(name, t);
    return t;
  }

  /** Registers a buffer (state that is not a parameter); persistent buffers are part of the state dict. */
  registerBuffer<T extends Tensor | null>(name: string, t: T, opts: { persistent?: boolean } = {}): T {
    this.checkName('registerBuffer', name);
    this.bufs.set(name, { tensor: t, persistent: opts.persistent ?? true });
    return t;
  }

  registerModule<M extends Module | null>(name: string, m: M): M {
    this.checkName('registerModule', name);
    this.children_.set(name, m);
    return m;
  }

  /** Replaces a registered parameter or buffer tensor (e.g. after loading a checkpoint lazily). */
  protected setTensor(name: string, t: Tensor): void {
    if (this.params.has(name)) this.params.set(name, t);
    else if (this.bufs.has(name)) this.bufs.get(name)!.tensor = t;
    else throw new Error(`setTensor: no parameter or buffer named '${name}' on ${this.constructor.name}`);
  }

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

  *namedParameters(prefix = '', recurse = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? [...this.namedModules(prefix)] : [[prefix, this]];
    for (const [p, m] of mods)
      for (const [n, t] of m.params)
        if (t && !seen.has(t)) {
          seen.add(t);
          yield [p ? `${p}.${n}` : n, t];
        }
  }

  parameters(recurse = true): Tensor[] {
    return [...this.namedParameters('', recurse)].map(([, t]) => t);
  }

  *namedBuffers(prefix = '', recurse = true): Generator<[string, Tensor]> {
    const mods: [string, Module][] = recurse ? [...this.namedModules(prefix)] : [[prefix, this]];
    for (const [p, m] of mods) for (const [n, b] of m.bufs) if (b.tensor) yield [p ? `${p}.${n}` : n, b.tensor];
  }

  buffers(recurse = true): Tensor[] {
    return [...this.namedBuffers('', recurse)].map(([, t]) => t);
  }

  /** Parameters and persistent buffers by dotted name, in registration order (tensors are shared, not copied). */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = new Map();
    for (const [p, m] of this.namedModules(prefix)) {
      const key = (n: string): string => (p ? `${p}.${n}` : n);
      for (const [n, t] of m.params) if (t) out.set(key(n), t);
      for (const [n, b] of m.bufs) if (b.tensor && b.persistent) out.set(key(n), b.tensor);
    }
    return out;
  }

  /**
   * Copies values from `sd` into this module's parameters and persistent buffers (cast to their dtype).
   * With `strict` (the default) any missing or unexpected key throws; a shape mismatch always throws.
   * The error lists every missing, unexpected and wrongly-shaped key.
   */
  loadStateDict(sd: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const given: ReadonlyMap<string, Tensor> = sd instanceof Map ? (sd as ReadonlyMap<string, Tensor>) : new Map(Object.entries(sd as Readonly<Record<string, Tensor>>));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !own.has(k));
    const badShapes: string[] = [];
    for (const [k, t] of own) {
      const src = given.get(k);
      if (src && (src.shape.length !== t.shape.length || src.shape.some((s, i) => s !== t.shape[i])))
        badShapes.push(`${k}: checkpoint ${fmt(src.shape)} vs model ${fmt(t.shape)}`);
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
        if (src) t.copy_(src);
      }
    });
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
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

export { Tensor };
