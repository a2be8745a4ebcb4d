// Optimizer base: parameter groups with per-group hyper-parameters (PyTorch's param_groups), per-parameter
// state, zeroGrad, the GPU skip flag (foundInf) with its skipped-step counter, and state dicts in PyTorch's
// layout for exact checkpoint/resume. The update rules live in the subclasses (adamw.ts, sgd.ts).

import { runFlagCount } from '../kernels/flag-count.js';
import { zeros } from '../tensor/create.js';
import { noGrad, tidy, untrack } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export interface ParamGroup<H> {
  params: Tensor[];
  /** Hyper-parameters of this group (lr, weightDecay, …); mutable, as schedules set them per step. */
  options: H;
}

export type ParamsArg<H> = readonly Tensor[] | readonly ({ params: readonly Tensor[] } & Partial<H>)[];

/**
 * An optimizer's state in torch's `optimizer.state_dict()` layout: `state` keyed by each parameter's index
 * counted across the groups in order, and `param_groups` holding each group's hyper-parameters (torch's
 * snake_case keys) with the indices of its parameters. Tensors are the optimizer's own (shared, as torch's
 * are): read or clone them before the next step if a snapshot is wanted.
 */
export interface OptimizerStateDict<TS, TG> {
  state: Map<number, TS>;
  param_groups: (TG & { params: number[] })[];
}

/** What `loadStateDict` accepts: a state dict as returned, or one whose `state` is a plain object. */
export interface LoadableStateDict<TS, TG> {
  readonly state: ReadonlyMap<number, TS> | Readonly<Record<string, TS>>;
  readonly param_groups: readonly (TG & { readonly params: readonly number[] })[];
}

/** Marks an optimizer-state tensor as outliving the step's scope. */
export function keep<T extends Tensor>(t: T): T {
  untrack(t);
  return t;
}

/** Checks that `t` is a one-element f32 tensor (a GPU scalar: a flag, a counter, a learning rate). */
export function checkScalarTensor(what: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${what}: expected a one-element f32 tensor, got ${typeof t}`);
  const s = t as Tensor;
  if (s.numel() !== 1 || s.dtype !== 'f32')
    throw new Error(`${what}: expected a one-element f32 tensor, got shape [${s.shape.join(',')}] ${s.dtype}`);
  return s.check(what);
}

export abstract class Optimizer<H extends { lr: number | Tensor }, S extends object, TS = unknown, TG = unknown> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, S>();
  private flag: Tensor | null = null;
  private skipped: Tensor | null = null;
  private zeroFlag: Tensor | null = null;
  /** Learning-rate tensors this optimizer made itself (adopted from a loaded state dict) and must free. */
  private readonly ownedLrs = new Set<Tensor>();

  constructor(
    params: ParamsArg<H>,
    defaults: H,
    protected readonly name: string,
  ) {
    const list = [...params];
    if (list.length === 0) throw new Error(`${name}: optimizer got an empty parameter list`);
    const groups = list[0] && 'params' in list[0] ? (list as readonly ({ params: readonly Tensor[] } & Partial<H>)[]) : [{ params: list as readonly Tensor[] }];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g) => {
      const { params: ps, ...overrides } = g;
      for (const p of ps) {
        if (seen.has(p)) throw new Error(`${name}: some parameters appear in more than one parameter group`);
        seen.add(p);
      }
      return { params: [...ps], options: { ...defaults, ...(overrides as Partial<H>) } };
    });
  }

  /**
   * The GPU skip flag, torch's `found_inf` of its fused optimizers: a one-element f32 tensor or null. While
   * it holds a nonzero value (NaN included) a step leaves parameters, moments and step counts bitwise
   * untouched and adds one to `skippedSteps`, with no readback. The optimizer never clears it: whoever raises
   * it (nonFiniteCheckAndUnscale_, clipGradNorm_, a loss scaler) zeroes it before the next check.
   */
  get foundInf(): Tensor | null {
    return this.flag;
  }
  set foundInf(t: Tensor | null) {
    if (t !== null) {
      checkScalarTensor(`${this.name}.foundInf`, t);
      if (this.skipped !== null && t.storage === this.skipped.storage) throw new Error(`${this.name}.foundInf: the flag cannot share storage with skippedSteps`);
    }
    this.flag = t;
  }

  /** A 0-d f32 GPU counter of the steps skipped because foundInf was raised; read it when logging. */
  get skippedSteps(): Tensor {
    return (this.skipped ??= keep(zeros([])));
  }

  /** Applies one update to every parameter that has a gradient (none, bitwise, while foundInf is raised). */
  step(): void {
    const flag = this.flag?.check(`${this.name}.foundInf`) ?? null;
    // Checked before any dispatch, so a refused step changes nothing.
    this.forEachParam((p, h, i) => {
      if (p.isDisposed)
        throw new Error(
          `${this.name}.step: parameter ${i} [${p.shape.join(',')}] was disposed (replaced by loading weights with assign?); ` +
            'build the optimizer after loading weights',
        );
      const reason = flag && p.grad ? this.cannotSkip(p, h) : null;
      if (reason !== null) throw new Error(`${this.name}.step: foundInf is set but parameter ${i} ${reason}, which cannot read the GPU flag`);
    });
    noGrad(() => {
      const skipFlag = flag ?? this.noFlag();
      for (const g of this.paramGroups) {
        const withGrad = g.params.filter((p) => p.grad !== null);
        if (withGrad.length > 0) this.updateGroup(withGrad, g.options, skipFlag);
      }
      if (flag) {
        runFlagCount([this.skippedSteps.operand('skippedSteps')], flag.operand('foundInf'), true);
        this.skippedSteps.bumpVersion();
      }
    });
  }

  /**
   * The update of one group's parameters that have a gradient, in group order: one `update` each by default;
   * an optimizer with a multi-tensor kernel (AdamW) packs them into a few dispatches instead. Temporaries
   * are freed (tidy); state tensors are kept with keep().
   */
  protected updateGroup(params: readonly Tensor[], h: H, flag: Tensor): void {
    for (const p of params) tidy(() => this.update(p, p.grad!, h, flag));
  }

  /**
   * One parameter's update. `flag` is foundInf or a zero scalar: implementations that can read it on the
   * GPU must leave everything untouched when it is raised; the others are refused by cannotSkip first.
   */
  protected abstract update(p: Tensor, grad: Tensor, h: H, flag: Tensor): void;

  /** Why `p` cannot honour a raised foundInf (e.g. "takes the composed path"), or null when it can. */
  protected abstract cannotSkip(p: Tensor, h: H): string | null;

  /** Torch's per-parameter state entry for `s`. */
  protected abstract exportState(s: S): TS;
  /** Throws if `ts` cannot be loaded as the state of `p` (`where` names it in errors). */
  protected abstract checkState(p: Tensor, ts: TS, where: string): void;
  /** The optimizer's own copy of a checked state entry. */
  protected abstract importState(p: Tensor, ts: TS): S;
  /** Torch's hyper-parameters of a group. */
  protected abstract exportGroup(h: H): TG;
  /** Checked hyper-parameters of a loaded group; keys torch may omit default to `current`'s. */
  protected abstract importGroup(g: TG, current: H, where: string): H;

  /** Clears gradients (to null by default, PyTorch's set_to_none=True; else zero-filled in place). */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) {
          p.grad.dispose();
          p.grad = null;
        } else p.grad.zero_();
      }
  }

  /** Per-parameter state (moments, step counts); tensors are shared, not copied. */
  stateOf(p: Tensor): S | undefined {
    return this.state.get(p);
  }

  /** The state in torch's `state_dict()` layout and spellings (see OptimizerStateDict); tensors are shared. */
  stateDict(): OptimizerStateDict<TS, TG> {
    const state = new Map<number, TS>();
    const param_groups: (TG & { params: number[] })[] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const params: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) state.set(index, this.exportState(s));
        params.push(index++);
      }
      param_groups.push({ ...this.exportGroup(g.options), params });
    }
    return { state, param_groups };
  }

  /**
   * Loads a state dict saved by `stateDict()` (or torch's, converted): parameters are matched by position,
   * group by group, as torch does. Everything is checked before anything changes; state tensors are copied
   * (the caller keeps ownership of `sd`). A group whose lr is a tensor keeps that tensor and receives the
   * saved value in place, so a schedule writing into it keeps working.
   */
  loadStateDict(sd: LoadableStateDict<TS, TG>): void {
    const op = `${this.name}.loadStateDict`;
    const groups = sd.param_groups as unknown;
    if (!Array.isArray(groups)) throw new Error(`${op}: param_groups must be an array`);
    if (groups.length !== this.paramGroups.length)
      throw new Error(`${op}: the state dict has ${groups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    const byId = new Map<number, Tensor>();
    const options = this.paramGroups.map((g, gi) => {
      const saved = sd.param_groups[gi]!;
      const ids = saved.params as unknown;
      if (!Array.isArray(ids)) throw new Error(`${op}: param_groups[${gi}].params must be an array of indices`);
      if (ids.length !== g.params.length)
        throw new Error(`${op}: param_groups[${gi}] has ${ids.length} parameters, this optimizer's group ${gi} has ${g.params.length}`);
      ids.forEach((id, k) => {
        if (!Number.isInteger(id) || byId.has(id as number)) throw new Error(`${op}: param_groups[${gi}].params[${k}] is ${String(id)}, expected a distinct integer index`);
        byId.set(id as number, g.params[k]!);
      });
      return this.importGroup(saved, g.options, `${op}: param_groups[${gi}]`);
    });
    const entries: [Tensor, TS][] = [];
    const state = sd.state as unknown;
    const raw = state instanceof Map ? [...(state as ReadonlyMap<unknown, TS>)] : state !== null && typeof state === 'object' ? Object.entries(state as Record<string, TS>) : null;
    if (raw === null) throw new Error(`${op}: state must be a Map or an object keyed by parameter index`);
    for (const [key, ts] of raw) {
      const p = byId.get(Number(key));
      if (p === undefined) throw new Error(`${op}: state has an entry for parameter ${String(key)}, which no param_groups entry lists`);
      if (ts === null || typeof ts !== 'object') throw new Error(`${op}: state[${String(key)}] must be an object`);
      this.checkState(p, ts, `${op}: state[${String(key)}]`);
      entries.push([p, ts]);
    }
    noGrad(() => {
      this.paramGroups.forEach((g, gi) => {
        // In place: a schedule may hold this options object.
        const { lr, ...rest } = options[gi]!;
        Object.assign(g.options, rest, { lr: this.loadLr(g.options.lr, lr) });
      });
      // Copies first: `sd` may be this optimizer's own stateDict(), whose tensors are the old state.
      const loaded = entries.map(([p, ts]) => [p, tidy(() => this.importState(p, ts))] as const);
      for (const st of this.state.values()) disposeState(st);
      this.state.clear();
      for (const [p, st] of loaded) this.state.set(p, st);
    });
  }

  /** Frees every state tensor (and the skip counter); foundInf and tensor lrs given by the user stay theirs. */
  dispose(): void {
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    for (const t of [this.skipped, this.zeroFlag, ...this.ownedLrs]) t?.dispose();
    this.ownedLrs.clear();
    this.skipped = null;
    this.zeroFlag = null;
  }

  /** The learning rate a group gets from a loaded one (see loadStateDict). */
  private loadLr(current: H['lr'], saved: H['lr']): H['lr'] {
    if (current instanceof Tensor) {
      if (saved === current) return current;
      if (saved instanceof Tensor) current.copy_(saved);
      else current.fill_(saved);
      return current;
    }
    if (!(saved instanceof Tensor)) return saved;
    // Only an optimizer whose lr may be a tensor lets importGroup return one.
    const own = keep(saved.clone());
    this.ownedLrs.add(own);
    return own;
  }

  /** A zero flag bound where foundInf is null (a kernel's flag slot must hold a buffer). */
  private noFlag(): Tensor {
    return (this.zeroFlag ??= keep(zeros([])));
  }

  private forEachParam(fn: (p: Tensor, h: H, index: number) => void): void {
    let i = 0;
    for (const g of this.paramGroups) for (const p of g.params) fn(p, g.options, i++);
  }
}

function disposeState(s: object): void {
  for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
}
