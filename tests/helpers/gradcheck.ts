// Gradient checks against central finite differences. Values are computed on the GPU in f32, so the
// difference quotient is taken in float64 from read-back outputs with a step suited to f32.
import * as kiln from '../../src/node.js';
import type { Tensor } from '../../src/node.js';
import { expect } from 'vitest';
import { randomArray } from './random.js';

export interface GradInput {
  readonly shape: readonly number[];
  /** Values; random normal when omitted. */
  readonly data?: Float64Array | readonly number[];
}

export interface GradcheckOptions {
  /** 'full': every element of every input (tiny inputs); 'directions': `directions` random directions. */
  readonly mode?: 'full' | 'directions';
  readonly directions?: number;
  readonly eps?: number;
  /** Norm-wise relative tolerance between autograd and finite differences. */
  readonly rtol?: number;
  readonly seed?: number;
}

async function evalDot(fn: (...xs: Tensor[]) => Tensor, values: Float64Array[], shapes: readonly (readonly number[])[], v: Float64Array): Promise<number> {
  return kiln.noGrad(() => {
    const xs = values.map((d, i) => kiln.tensor(Float32Array.from(d), { shape: shapes[i]! }));
    const y = fn(...xs);
    const p = y.data();
    for (const x of xs) x.dispose();
    return p.then((out) => {
      y.dispose();
      let s = 0;
      for (let k = 0; k < v.length; k++) s += v[k]! * out[k]!;
      return s;
    });
  });
}

/**
 * Checks vᵀ·J of `fn` at the given inputs against central differences of vᵀ·fn. Returns the worst relative
 * error found (and asserts it is within rtol).
 */
export async function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly GradInput[], opts: GradcheckOptions = {}): Promise<number> {
  const seed = opts.seed ?? 1234;
  const eps = opts.eps ?? 1e-2;
  const rtol = opts.rtol ?? 2e-2;
  const shapes = inputs.map((i) => i.shape);
  const values = inputs.map((inp, k) => (inp.data ? Float64Array.from(inp.data) : randomArray(shapes[k]!.reduce((a, b) => a * b, 1), seed + k)));
  // autograd side
  const xs = values.map((d, i) => kiln.tensor(Float32Array.from(d), { shape: shapes[i]!, requiresGrad: true }));
  const y = fn(...xs);
  const v = randomArray(y.numel(), seed + 99);
  y.backward(kiln.tensor(Float32Array.from(v), { shape: y.shape }));
  const grads = await Promise.all(xs.map(async (x) => (x.grad ? Float64Array.from(await x.grad.data()) : new Float64Array(x.numel()))));
  y.dispose();
  for (const x of xs) x.dispose();
  const mode = opts.mode ?? (values.every((d) => d.length <= 64) ? 'full' : 'directions');
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    const base = values[i]!;
    const g = grads[i]!;
    const fdList: number[] = [];
    const adList: number[] = [];
    const dirs = mode === 'full' ? base.length : (opts.directions ?? 3);
    for (let k = 0; k < dirs; k++) {
      const u = mode === 'full' ? Float64Array.from({ length: base.length }, (_, j) => (j === k ? 1 : 0)) : randomArray(base.length, seed + 1000 * (i + 1) + k);
      const plus = values.map((d, j) => (j === i ? d.map((x, e) => x + eps * u[e]!) : d));
      const minus = values.map((d, j) => (j === i ? d.map((x, e) => x - eps * u[e]!) : d));
      const fd = ((await evalDot(fn, plus, shapes, v)) - (await evalDot(fn, minus, shapes, v))) / (2 * eps);
      let ad = 0;
      for (let e = 0; e < base.length; e++) ad += g[e]! * u[e]!;
      fdList.push(fd);
      adList.push(ad);
    }
    let num = 0;
    let den = 0;
    for (let k = 0; k < fdList.length; k++) {
      num += (fdList[k]! - adList[k]!) ** 2;
      den += fdList[k]! ** 2;
    }
    const err = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-6);
    worst = Math.max(worst, err);
    expect(err, `input ${i}: autograd ${adList.slice(0, 4).map((x) => x.toPrecision(5)).join(", ")} vs finite differences ${fdList.slice(0, 4).map((x) => x.toPrecision(5)).join(", ")}`).toBeLessThanOrEqual(rtol);
  }
  return worst;
}
