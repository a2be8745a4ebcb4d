// toBeAllClose: norm-wise relative error ‖got − ref‖ / ‖ref‖ against a tolerance, reporting the worst
// element, its index and the tolerance used.
import { expect } from 'vitest';

export interface CloseOptions {
  /** Norm-wise relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute floor on the reference norm, for references near zero (default 1e-12). */
  atol?: number;
}

function worst(got: ArrayLike<number>, ref: ArrayLike<number>): { i: number; diff: number } {
  let i = -1;
  let diff = -1;
  for (let k = 0; k < ref.length; k++) {
    const d = Math.abs(got[k]! - ref[k]!);
    const dd = Number.isNaN(d) ? Infinity : d;
    if (dd > diff) {
      diff = dd;
      i = k;
    }
  }
  return { i, diff };
}

export function relError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < ref.length; k++) {
    const d = got[k]! - ref[k]!;
    num += d * d;
    den += ref[k]! * ref[k]!;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

export function installMatchers(): void {
  expect.extend({
    toBeAllClose(received: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions = {}) {
      const rtol = opts.rtol ?? 1e-5;
      const atol = opts.atol ?? 1e-12;
      if (received.length !== expected.length)
        return { pass: false, message: () => `length ${received.length} differs from reference length ${expected.length}` };
      let num = 0;
      let den = 0;
      let nan = false;
      for (let k = 0; k < expected.length; k++) {
        const g = received[k]!;
        const r = expected[k]!;
        if (Number.isNaN(g) !== Number.isNaN(r)) nan = true;
        if (Number.isNaN(r)) continue;
        const d = g - r;
        num += d * d;
        den += r * r;
      }
      const err = Math.sqrt(num) / Math.max(Math.sqrt(den), atol);
      const pass = !nan && err <= rtol && Number.isFinite(err);
      const w = worst(received, expected);
      return {
        pass,
        message: () =>
          `norm-wise relative error ${err.toExponential(3)} ${pass ? '<=' : '>'} tolerance ${rtol}` +
          `${nan ? ' (NaN mismatch)' : ''}; worst element at index ${w.i}: got ${received[w.i]}, expected ${expected[w.i]}` +
          ` (|diff| ${w.diff.toExponential(3)}), n=${expected.length}`,
      };
    },
  });
}

declare module 'vitest' {
  interface Assertion {
    toBeAllClose(expected: ArrayLike<number>, opts?: CloseOptions): void;
  }
}
