// The row-op problems of the `norm` suite — softmax and layerNorm (weight, bias, eps 1e-5) over the last
// axis of a [rows, d] f32 input — their seeded inputs, and the float64 check of sampled rows.

import { fillUniform } from './problems.mjs';

export const NORM_EPS = 1e-5;

/**
 * `op` is 'softmax' or 'layerNorm'. `bytes` is what the op must move at the least: x read once and y
 * written once, plus w and b for layerNorm; GB/s in the report count these bytes.
 */
export function normProblem(op, rows = 4096, d = 1024) {
  const bytes = 4 * (2 * rows * d + (op === 'layerNorm' ? 2 * d : 0));
  return {
    id: `${op}-${rows}x${d}`,
    kind: 'norm',
    op,
    label: `${op} ${rows}×${d}`,
    rows,
    d,
    bytes,
    makeInputs: (run) => makeNormInputs(op, rows, d, run),
    check: (inputs, y) => checkNorm(op, rows, d, inputs, y),
  };
}

/** Fresh inputs for run `run` (< 0 for warm-ups): x uniform in [-4, 4), w in [0.5, 1.5), b in [-0.5, 0.5). */
export function makeNormInputs(op, rows, d, run) {
  const seed = ((rows * 104729 + d * 31 + (op === 'softmax' ? 1 : 2)) ^ ((run + 17) * 2246822519)) >>> 0;
  const x = fillUniform(new Float32Array(rows * d), seed).map((v) => 4 * v);
  if (op === 'softmax') return { x };
  const w = fillUniform(new Float32Array(d), (seed ^ 0x9e3779b9) >>> 0).map((v) => 1 + v / 2);
  const b = fillUniform(new Float32Array(d), (seed ^ 0x85ebca6b) >>> 0).map((v) => v / 2);
  return { x, w, b };
}

/**
 * Compares `samples` rows of y against float64 softmax / layerNorm computed in JS: error |y − ref| /
 * (|ref| + floor), floor = 1/d for softmax (a typical entry) and 1 for layerNorm (outputs of order 1), so
 * entries near zero are judged by an absolute bound. Tolerance 1e-4 (f32 exp and rsqrt, a sum over d).
 */
export function checkNorm(op, rows, d, inputs, y, { samples = 16, tol = 1e-4 } = {}) {
  if (!y || y.length < rows * d) return { ok: false, maxErr: Infinity, where: `length ${y?.length} < ${rows * d}` };
  let maxErr = 0;
  let where = '';
  const floor = op === 'softmax' ? 1 / d : 1;
  const ref = new Float64Array(d);
  for (let s = 0; s < samples; s++) {
    const r = s === samples - 1 ? rows - 1 : Math.floor(((s + 0.5) / samples) * rows + s * 7919) % rows;
    const x = inputs.x.subarray(r * d, (r + 1) * d);
    if (op === 'softmax') {
      let m = -Infinity;
      for (const v of x) m = Math.max(m, v);
      let sum = 0;
      for (let j = 0; j < d; j++) sum += (ref[j] = Math.exp(x[j] - m));
      for (let j = 0; j < d; j++) ref[j] /= sum;
    } else {
      let mean = 0;
      for (const v of x) mean += v;
      mean /= d;
      let v2 = 0;
      for (const v of x) v2 += (v - mean) ** 2;
      const rstd = 1 / Math.sqrt(v2 / d + NORM_EPS);
      for (let j = 0; j < d; j++) ref[j] = (x[j] - mean) * rstd * inputs.w[j] + inputs.b[j];
    }
    for (let j = 0; j < d; j++) {
      const got = y[r * d + j];
      const err = Number.isFinite(got) ? Math.abs(got - ref[j]) / (Math.abs(ref[j]) + floor) : Infinity;
      if (!(err <= maxErr)) {
        maxErr = err;
        where = `[${r},${j}] got ${got} want ${ref[j]}`;
      }
    }
  }
  return { ok: maxErr <= tol, maxErr, where };
}
