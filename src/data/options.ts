// Checks of the loaders' numeric options: every one finite and in its range, refused before any decoding or
// GPU work with an error naming the loader, the option and the value. Not a schema library.

/** `v` (defaulting to `dflt`) as an integer in [min, max]. */
export function intOption(op: string, field: string, v: number | undefined, dflt: number, min: number, max: number): number {
  const x = v ?? dflt;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) throw new Error(`${op}: ${field} must be an integer in ${min}..${max}, got ${show(x)}`);
  return x;
}

/**
 * `v` (defaulting to `dflt`) as a finite number in the range `range`: '(0, max]' style bounds, where a
 * parenthesis excludes its end.
 */
export function numberOption(op: string, field: string, v: number | undefined, dflt: number, range: { min?: number; max?: number; minOpen?: boolean; maxOpen?: boolean }): number {
  const x = v ?? dflt;
  const lo = range.min ?? -Infinity;
  const hi = range.max ?? Infinity;
  const ok =
    typeof x === 'number' && Number.isFinite(x) && (range.minOpen ? x > lo : x >= lo) && (range.maxOpen ? x < hi : x <= hi);
  if (!ok) throw new Error(`${op}: ${field} must be a finite number in ${range.minOpen ? '(' : '['}${lo}, ${hi}${range.maxOpen ? ')' : ']'}, got ${show(x)}`);
  return x;
}

/** A list of finite numbers of length `n` (per-channel mean/std); `nonZero` also refuses 0. */
export function numberList(op: string, field: string, v: readonly number[], n: number, nonZero = false): readonly number[] {
  const list: readonly number[] = v;
  if (!Array.isArray(v) || v.length !== n) throw new Error(`${op}: ${field} needs ${n} value${n === 1 ? '' : 's'}, got ${Array.isArray(v) ? v.length : show(v)}`);
  list.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${op}: ${field}[${i}] must be a finite number, got ${show(x)}`);
    if (nonZero && x === 0) throw new Error(`${op}: ${field}[${i}] must not be 0`);
  });
  return list;
}

function show(x: unknown): string {
  return typeof x === 'number' ? String(x) : typeof x === 'string' ? JSON.stringify(x) : typeof x;
}
