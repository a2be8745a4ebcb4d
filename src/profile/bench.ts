// kiln.bench: the project's benchmark harness made public. Warm-ups first, then timed runs that go
// round-robin across the cases (run r of every case, then run r + 1), so load that drifts on a shared
// machine hits every case alike; each timed run ends with a readback, so its time includes the GPU work.

import { sync } from '../device/batch.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * A case with untimed setup and teardown: `prepare(run)` builds the inputs of a run (run < 0 for warm-ups),
 * `run(handle)` is timed (with the readback of any tensors it returns), `release(handle, result)` runs after
 * the clock stops (check the result there). Method syntax keeps a `BenchCase<Inputs>` assignable here.
 */
export interface BenchCase<H = unknown> {
  prepare?(run: number): H | Promise<H>;
  run(handle: H): unknown;
  release?(handle: H, result: unknown): unknown;
}

/** A function of the run index (negative for warm-ups), or a case with untimed setup and teardown. */
export type Benchable = ((run: number) => unknown) | BenchCase;

export interface BenchOptions {
  /** Timed runs per case (default 10). */
  readonly runs?: number;
  /** Untimed runs first, per case (default 2; the first pays the pipeline compiles). */
  readonly warmup?: number;
  /**
   * Milliseconds of timed runs per case (default unlimited): a case whose last warm-up says its runs will
   * not fit does fewer (never under 3), and one that has spent it after 3 runs stops.
   */
  readonly budgetMs?: number;
}

export interface BenchResult {
  /** Timed runs done. */
  readonly runs: number;
  readonly warmupMs: readonly number[];
  readonly samplesMs: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly q1: number;
  readonly q3: number;
  /** (max − min) / median: how far apart the runs were, relative to the median. */
  readonly spread: number;
}

/** A case that threw (only in the many-case form, so one failing case does not lose the others). */
export interface BenchError {
  readonly error: Error;
}

/** Median, min, max and quartiles of a list of milliseconds (linear interpolation between order statistics). */
export function summarize(samples: readonly number[]): Omit<BenchResult, 'runs' | 'warmupMs' | 'samplesMs'> {
  if (samples.length === 0) throw new Error('bench: no samples to summarize');
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number): number => {
    const x = p * (s.length - 1);
    const lo = Math.floor(x);
    const hi = Math.ceil(x);
    return s[lo]! + (s[hi]! - s[lo]!) * (x - lo);
  };
  const median = q(0.5);
  return { median, min: s[0]!, max: s[s.length - 1]!, q1: q(0.25), q3: q(0.75), spread: median > 0 ? (s[s.length - 1]! - s[0]!) / median : 0 };
}

function tensorsIn(result: unknown): Tensor[] {
  if (result instanceof Tensor) return [result as Tensor];
  if (Array.isArray(result)) return (result as unknown[]).filter((x): x is Tensor => x instanceof Tensor);
  return [];
}

function asCase(b: Benchable): BenchCase {
  return typeof b === 'function' ? { prepare: (run: number) => run, run: (run) => b(run as number) } : b;
}

/** One run: untimed prepare; timed run and readback; untimed release; returned tensors disposed. */
async function once(c: BenchCase, run: number): Promise<number> {
  const handle = c.prepare ? await c.prepare(run) : undefined;
  const t0 = performance.now();
  const result: unknown = await c.run(handle);
  const tensors = tensorsIn(result);
  for (const t of tensors) await t.data();
  // Nothing returned: wait for the GPU work recorded. Anything else was read back by the function itself.
  if (result === undefined) await sync();
  const ms = performance.now() - t0;
  try {
    await c.release?.(handle, result);
  } finally {
    for (const t of tensors) t.dispose();
  }
  return ms;
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`bench: ${name} must be an integer ≥ ${min}, got ${v}`);
}

interface State {
  readonly c: BenchCase;
  readonly warm: number[];
  readonly samples: number[];
  runs: number;
  error: Error | null;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Times a function (or several, interleaved) the way Kiln's own bench does: `warmup` untimed runs, then
 * `runs` timed runs, each ending with a readback of the tensor (or array of tensors) it returns, or, when
 * it returns nothing, a wait for the GPU, so the time covers the GPU work; any other value is taken as read
 * back already (data the function fetched itself). Returned tensors are disposed; temporaries are
 * yours (use kiln.tidy). The function gets the run index (negative for warm-ups) to build fresh inputs.
 * @example const r = await kiln.bench(() => a.matmul(b), { runs: 20, warmup: 3 }); console.log(r.median, r.spread);
 * @example const rs = await kiln.bench({ fused: () => F.softmax(x, -1), unfused: () => F.softmax(x, -1, { fused: false }) });
 */
export async function bench(fn: Benchable, opts?: BenchOptions): Promise<BenchResult>;
export async function bench(cases: Readonly<Record<string, Benchable>>, opts?: BenchOptions): Promise<Record<string, BenchResult | BenchError>>;
export async function bench(what: Benchable | Readonly<Record<string, Benchable>>, opts: BenchOptions = {}): Promise<BenchResult | Record<string, BenchResult | BenchError>> {
  const runs = opts.runs ?? 10;
  const warmup = opts.warmup ?? 2;
  const budget = opts.budgetMs ?? Infinity;
  checkCount('runs', runs, 1);
  checkCount('warmup', warmup, 0);
  if (!(budget > 0)) throw new Error(`bench: budgetMs must be positive, got ${budget}`);
  const single = typeof what === 'function' || typeof (what as BenchCase).run === 'function';
  const named: Record<string, Benchable> = single ? { fn: what as Benchable } : { ...(what as Record<string, Benchable>) };
  const states = new Map<string, State>();
  for (const [name, b] of Object.entries(named)) {
    const s: State = { c: asCase(b), warm: [], samples: [], runs, error: null };
    states.set(name, s);
    try {
      for (let w = 0; w < warmup; w++) s.warm.push(await once(s.c, -1 - w));
      const last = s.warm[s.warm.length - 1];
      if (last !== undefined && last > 0) s.runs = Math.min(runs, Math.max(3, Math.floor(budget / last)));
    } catch (e) {
      if (single) throw e;
      s.error = asError(e);
    }
  }
  for (let r = 0; r < runs; r++) {
    for (const s of states.values()) {
      if (s.error !== null || r >= s.runs) continue;
      // load drifts: once a case has 3 runs and has spent its budget, it stops even if its warm-up promised more
      const spent = s.samples.reduce((t, x) => t + x, 0);
      if (s.samples.length >= 3 && spent > budget) {
        s.runs = s.samples.length;
        continue;
      }
      try {
        s.samples.push(await once(s.c, r));
      } catch (e) {
        if (single) throw e;
        s.error = asError(e);
      }
    }
  }
  const out: Record<string, BenchResult | BenchError> = {};
  for (const [name, s] of states) out[name] = s.error !== null ? { error: s.error } : { runs: s.samples.length, warmupMs: s.warm, samplesMs: s.samples, ...summarize(s.samples) };
  return single ? (out['fn'] as BenchResult) : out;
}
