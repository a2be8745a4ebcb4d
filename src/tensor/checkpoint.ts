// Activation checkpointing (torch.utils.checkpoint, non-reentrant): `fn`'s intermediates are not kept;
// in backward, the first time one of them is needed, `fn` is re-run under the forward's RNG state and modes,
// and what that re-run saves for backward stands in for what the forward would have saved. Built on the
// saved-tensor hooks of the tape, not by re-entering backward, so the graph walked is the forward's own:
// gradients are bitwise those of the plain run (same rules, same summation order, same saved values).

import { getRngState, setRngState, type RngState } from './create.js';
import { withSavedTensorHooks, type SavedTensorHooks } from './ops/record.js';
import { enableGrad, isGradEnabled, tidy } from './scope.js';
import { Tensor } from './tensor.js';

/** Something to put back as it was during the forward while `fn` is recomputed: returns the undo. */
type Restorer = () => () => void;

interface Recording {
  readonly restorers: Map<object, Restorer>;
}

let recording: Recording | null = null;

/**
 * Called by stateful code that `fn` may consult (a module's train/eval flag, autocast): `apply` re-applies
 * the state seen now and returns how to undo it. The first report per key in a checkpointed forward wins.
 */
export function recordStateForRecompute(key: object, apply: Restorer): void {
  if (recording && !recording.restorers.has(key)) recording.restorers.set(key, apply);
}

/** True while a checkpointed forward is recording (so reporters can skip the work otherwise). */
export function isRecordingCheckpoint(): boolean {
  return recording !== null;
}

class Region implements SavedTensorHooks {
  private packed = 0;
  private live = 0;
  private recomputed: (Tensor | null)[] | null = null;
  private readonly inputs: { handle: Tensor; version: number; requiresGrad: boolean }[];
  private readonly rng: RngState;
  readonly restorers = new Map<object, Restorer>();

  constructor(
    private readonly fn: (...xs: Tensor[]) => unknown,
    inputs: readonly Tensor[],
  ) {
    this.inputs = inputs.map((t) => ({ handle: t.internalView(), version: t.storage.version, requiresGrad: t.requiresGrad }));
    this.rng = getRngState();
  }

  pack(): number {
    this.live += 1;
    return this.packed++;
  }

  unpack(token: number): Tensor {
    this.recomputed ??= this.recompute();
    const t = this.recomputed[token];
    if (!t) throw new Error(`checkpoint: saved tensor ${token} was already released (backward through the graph a second time needs { retainGraph: true })`);
    return t;
  }

  /** After the forward: a region that saved nothing will never recompute, so its input handles go now. */
  dropIfUnused(): void {
    if (this.live === 0) for (const i of this.inputs) i.handle.dispose();
  }

  release(token: number): void {
    this.live -= 1;
    const t = this.recomputed?.[token];
    if (t) {
      t.dispose();
      this.recomputed![token] = null;
    }
    if (this.live === 0) for (const i of this.inputs) i.handle.dispose();
  }

  /** Re-runs fn on the saved inputs, as the forward ran it, and returns what it saved for backward. */
  private recompute(): (Tensor | null)[] {
    for (const i of this.inputs)
      if (i.handle.storage.version !== i.version)
        throw new Error(
          'checkpoint: one of the variables needed for gradient computation has been modified by an inplace operation: ' +
            `an input of shape [${i.handle.shape.join(',')}] is at version ${i.handle.storage.version}; expected version ${i.version} instead.`,
        );
    const captured: Tensor[] = [];
    const capture: SavedTensorHooks = {
      pack: (t) => captured.push(t.internalView()) - 1,
      unpack: () => {
        throw new Error('checkpoint: the recomputation is never differentiated');
      },
      release: () => undefined,
    };
    const now = getRngState();
    const undo = [...this.restorers.values()].map((apply) => apply());
    setRngState(this.rng);
    // A checkpoint nested in fn runs plainly here, as it did in the forward: its saves must be captured too.
    const outer = recording;
    recording = { restorers: new Map() };
    try {
      enableGrad(() =>
        withSavedTensorHooks(capture, () =>
          tidy(() => {
            const xs = this.inputs.map((i) => {
              const d = i.handle.detach();
              return i.requiresGrad ? d.requiresGrad_(true) : d;
            });
            this.fn(...xs);
          }),
        ),
      );
    } finally {
      recording = outer;
      setRngState(now);
      for (const u of undo.reverse()) u();
    }
    if (captured.length !== this.packed) {
      for (const t of captured) t.dispose();
      throw new Error(`checkpoint: the recomputation saved ${captured.length} tensors for backward where the forward saved ${this.packed}; fn must run the same ops each time`);
    }
    return captured;
  }
}

/**
 * Runs `fn(...inputs)` without keeping its intermediates for backward; backward re-runs it. Parameters used
 * inside get gradients whether or not an input requires grad. Tensors created inside `fn` other than its
 * result are freed on return (as in tidy). Under noGrad, or nested inside another checkpoint, it simply
 * runs `fn`.
 * @example const y = kiln.checkpoint((h) => block.call(h), x);
 */
export function checkpoint<R>(fn: (...inputs: Tensor[]) => R, ...inputs: Tensor[]): R {
  for (const [i, t] of inputs.entries()) if (!(t instanceof Tensor)) throw new Error(`checkpoint: input ${i} is not a Tensor`);
  if (!isGradEnabled() || recording) return fn(...inputs);
  const region = new Region(fn, inputs.map((t) => t.check('checkpoint')));
  const outer = recording;
  recording = { restorers: region.restorers };
  try {
    return withSavedTensorHooks(region, () => tidy(() => fn(...inputs)));
  } finally {
    recording = outer;
    region.dropIfUnused();
  }
}
