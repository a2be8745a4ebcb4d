// The matmul problems the bench times, their fresh random inputs, and the float64 spot check of a result.
// Every engine gets the same inputs for the same (problem, run) because the generator is seeded by both.

/** A batched product C[b] = A[b] · op(B[b]); op transposes when transB (B is then stored as [batch, N, K]). */
export function problemFor(shape) {
  if (shape === 'attn') {
    // attention scores q·kᵀ of a ViT at 224² with 16² patches (197 tokens), head dim 64, 32 (batch × heads)
    return { id: 'attn', label: '32×[197×64]·[64×197]ᵀ', batch: 32, M: 197, N: 197, K: 64, transB: true };
  }
  return { id: String(shape), label: `${shape}×${shape}`, batch: 1, M: shape, N: shape, K: shape, transB: false };
}

/** The matmul problem for `shape`, with the inputs and check the harness calls (as for every suite's problems). */
export function matmulProblem(shape) {
  const p = { ...problemFor(shape), kind: 'matmul' };
  return { ...p, flops: flopsOf(p), makeInputs: (run) => makeInputs(p, run), check: (inputs, c) => checkResult(p, inputs, c) };
}

export const flopsOf = (p) => 2 * p.batch * p.M * p.N * p.K;
export const shapeA = (p) => (p.batch === 1 ? [p.M, p.K] : [p.batch, p.M, p.K]);
export const shapeB = (p) => {
  const mat = p.transB ? [p.N, p.K] : [p.K, p.N];
  return p.batch === 1 ? mat : [p.batch, ...mat];
};

/** xorshift128+-style generator → uniform floats in [-1, 1); seeded so all engines see the same inputs. */
export function fillUniform(arr, seed) {
  let s0 = (seed * 2654435761) >>> 0 || 1;
  let s1 = (seed * 40503 + 12345) >>> 0 || 7;
  for (let i = 0; i < arr.length; i++) {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    s1 = x >>> 0;
    arr[i] = (((s0 + s1) >>> 0) / 4294967296) * 2 - 1;
  }
  return arr;
}

/** Fresh inputs for run `run` of problem `p` (run < 0 for warm-ups). */
export function makeInputs(p, run) {
  const seed = (p.batch * 7919 + p.M * 104729 + p.N * 31 + p.K) ^ ((run + 17) * 2246822519);
  const a = fillUniform(new Float32Array(p.batch * p.M * p.K), seed >>> 0);
  const b = fillUniform(new Float32Array(p.batch * p.K * p.N), (seed ^ 0x9e3779b9) >>> 0);
  return { a, b };
}

/**
 * Checks `c` ([batch, M, N], row-major) against float64 dot products at `samples` entries spread over
 * the output. Error is |c − ref| / Σ_k |a_ik·b_kj|: the scale a dot product's rounding error grows with,
 * so an entry that cancels to near zero does not fail a correct f32 result.
 */
export function checkResult(p, inputs, c, { samples = 64, tol = 1e-5 } = {}) {
  const total = p.batch * p.M * p.N;
  if (!c || c.length < total) return { ok: false, maxErr: Infinity, where: `length ${c?.length} < ${total}` };
  let maxErr = 0;
  let where = '';
  for (let s = 0; s < samples; s++) {
    // a stride that is co-prime with the sizes visits rows, columns and batches all over the output
    const idx = Math.floor(((s + 0.5) / samples) * total + s * 7919) % total;
    const b = Math.floor(idx / (p.M * p.N));
    const i = Math.floor(idx / p.N) % p.M;
    const j = idx % p.N;
    let ref = 0;
    let scale = 0;
    for (let k = 0; k < p.K; k++) {
      const x = inputs.a[(b * p.M + i) * p.K + k];
      const y = p.transB ? inputs.b[(b * p.N + j) * p.K + k] : inputs.b[(b * p.K + k) * p.N + j];
      ref += x * y;
      scale += Math.abs(x * y);
    }
    const got = c[idx];
    const err = Number.isFinite(got) ? Math.abs(got - ref) / (scale || 1) : Infinity;
    if (!(err <= maxErr)) {
      maxErr = err;
      where = `[${b},${i},${j}] got ${got} want ${ref}`;
    }
  }
  return { ok: maxErr <= tol, maxErr, where };
}
