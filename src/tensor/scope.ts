// Scopes: tidy() frees every tensor created inside except what it returns; noGrad() records nothing.
// Scopes are synchronous on purpose: a Promise would let other work interleave with the scope.

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Set<Disposable>[] = [];
let gradDisabled = 0;

/** Called by every tensor constructor. */
export function track(t: Disposable): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes a tensor from the scopes it was created in (it now belongs to something that outlives them). */
export function untrack(t: Disposable): void {
  for (const s of scopes) s.delete(t);
}

function collect(value: unknown, keep: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (keep.has(value)) return;
  keep.add(value);
  if (Array.isArray(value)) for (const v of value) collect(v, keep, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, keep, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, keep, depth + 1);
}

/**
 * Runs `fn` and disposes every tensor created during it except those in its result (a tensor, or arrays,
 * maps and plain objects holding tensors). Synchronous: throws if `fn` returns a Promise.
 */
export function tidy<R>(fn: () => R): R {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('tidy: fn returned a Promise; tidy is synchronous. Dispose tensors explicitly (or with `using`) in async code.');
  }
  const keep = new Set<unknown>();
  collect(result, keep);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keep.has(t)) parent?.add(t);
    else if (!t.isDisposed) t.dispose();
  }
  return result;
}

/** Runs `fn` with gradient recording off and returns its result. */
export function noGrad<R>(fn: () => R): R {
  gradDisabled += 1;
  try {
    return fn();
  } finally {
    gradDisabled -= 1;
  }
}

/** Runs `fn` with gradient recording on, even inside noGrad (torch.enable_grad), and returns its result. */
export function enableGrad<R>(fn: () => R): R {
  const outer = gradDisabled;
  gradDisabled = 0;
  try {
    return fn();
  } finally {
    gradDisabled = outer;
  }
}

export function isGradEnabled(): boolean {
  return gradDisabled === 0;
}
