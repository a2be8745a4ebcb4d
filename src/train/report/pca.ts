// Principal component analysis for the run report's 2-D projection of embeddings, in float64 on the CPU:
// the covariance of the centred rows, its top eigenvectors by subspace iteration with Rayleigh–Ritz (a few
// more vectors than asked, so convergence goes as λ(k+extra)/λ(k)), small eigenproblems by Jacobi. Not a
// general linear-algebra library: sized for embeddings of a few thousand rows and a few hundred columns.

export interface Projection {
  /** [n, k] row-major: each row's coordinates on the components. */
  readonly coords: Float64Array;
  /** [k, d] row-major unit components, each signed so its largest-magnitude loading is positive. */
  readonly components: Float64Array;
  /** Each component's share of the total variance (0 when all rows are equal). */
  readonly explained: readonly number[];
}

/**
 * Projects the n rows of x ([n, d], row-major) on their top `k` principal components.
 * @example const { coords, explained } = pca(embeddings, 256, 64); // coords[2i], coords[2i+1]
 */
export function pca(x: ArrayLike<number>, n: number, d: number, k = 2): Projection {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1 || x.length !== n * d) throw new Error(`pca: x has ${x.length} values, expected n·d = ${n}·${d}`);
  if (!Number.isInteger(k) || k < 1 || k > d) throw new Error(`pca: k must be an integer in [1, d = ${d}], got ${k}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
  const xc = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xc[i * d + j] = x[i * d + j]! - mean[j]!;
  const cov = new Float64Array(d * d); // XcᵀXc / n, the upper triangle mirrored
  for (let i = 0; i < n; i++) {
    const r = i * d;
    for (let a = 0; a < d; a++) {
      const va = xc[r + a]!;
      if (va === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += va * xc[r + b]!;
    }
  }
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      cov[a * d + b]! /= n;
      cov[b * d + a] = cov[a * d + b]!;
    }
  let trace = 0;
  for (let a = 0; a < d; a++) trace += cov[a * d + a]!;

  const { vectors, values } = topEigen(cov, d, k);
  const coords = new Float64Array(n * k);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += xc[i * d + j]! * vectors[c * d + j]!;
      coords[i * k + c] = s;
    }
  return { coords, components: vectors, explained: values.map((v) => (trace > 0 ? Math.max(0, v) / trace : 0)) };
}

/** The top-k eigenpairs of the symmetric [d, d] matrix a: subspace iteration, Rayleigh–Ritz each round. */
function topEigen(a: Float64Array, d: number, k: number): { vectors: Float64Array; values: number[] } {
  const m = Math.min(d, k + 6);
  // A fixed, deterministic start (a hash of the indices), so the same data gives the same picture.
  let q = new Float64Array(d * m).map((_, i) => Math.sin(i * 12.9898 + 78.233) * 43758.5453 % 1);
  orthonormalise(q, d, m);
  let values: number[] = [];
  let ritz = new Float64Array(0);
  for (let iter = 0; iter < 1000; iter++) {
    const z = matmulSym(a, q, d, m); // A·Q, [d, m] column-major as q
    orthonormalise(z, d, m);
    // Rayleigh–Ritz: eigen of the small H = Zᵀ A Z, rotate Z by its eigenvectors.
    const az = matmulSym(a, z, d, m);
    const h = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) h[i * m + j] = dot(z, i, az, j, d);
    const e = jacobiEigen(h, m);
    ritz = new Float64Array(d * m);
    for (let c = 0; c < m; c++) for (let r = 0; r < d; r++) for (let t = 0; t < m; t++) ritz[c * d + r]! += z[t * d + r]! * e.vectors[t * m + e.order[c]!]!;
    const next = e.order.map((o) => e.values[o]!);
    const done = values.length > 0 && next.slice(0, k).every((v, i) => Math.abs(v - values[i]!) <= 1e-13 * Math.max(1, Math.abs(next[0]!)));
    values = next;
    q = ritz;
    if (done && iter > 3) break;
  }
  const vectors = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    let big = 0;
    for (let r = 0; r < d; r++) if (Math.abs(q[c * d + r]!) > Math.abs(big)) big = q[c * d + r]!;
    const sign = big < 0 ? -1 : 1;
    for (let r = 0; r < d; r++) vectors[c * d + r] = sign * q[c * d + r]!;
  }
  return { vectors, values: values.slice(0, k) };
}

/** A·Q for symmetric A [d, d] and Q stored as m columns of length d. */
function matmulSym(a: Float64Array, q: Float64Array, d: number, m: number): Float64Array {
  const out = new Float64Array(d * m);
  for (let c = 0; c < m; c++)
    for (let r = 0; r < d; r++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += a[r * d + t]! * q[c * d + t]!;
      out[c * d + r] = s;
    }
  return out;
}

const dot = (x: Float64Array, i: number, y: Float64Array, j: number, d: number): number => {
  let s = 0;
  for (let r = 0; r < d; r++) s += x[i * d + r]! * y[j * d + r]!;
  return s;
};

/** Modified Gram–Schmidt over the m columns, twice (re-orthogonalisation); a vanished column becomes a unit vector. */
function orthonormalise(q: Float64Array, d: number, m: number): void {
  for (let pass = 0; pass < 2; pass++)
    for (let c = 0; c < m; c++) {
      for (let p = 0; p < c; p++) {
        const s = dot(q, c, q, p, d);
        for (let r = 0; r < d; r++) q[c * d + r]! -= s * q[p * d + r]!;
      }
      let norm = Math.sqrt(dot(q, c, q, c, d));
      if (norm < 1e-300) {
        q.fill(0, c * d, (c + 1) * d);
        q[c * d + (c % d)] = 1;
        norm = 1;
      }
      for (let r = 0; r < d; r++) q[c * d + r]! /= norm;
    }
}

/**
 * Eigenvalues and eigenvectors (columns of `vectors`, [m, m] row-major) of a small symmetric matrix by cyclic
 * Jacobi rotations; `order` lists the indices by decreasing eigenvalue.
 */
export function jacobiEigen(h: Float64Array, m: number): { values: Float64Array; vectors: Float64Array; order: number[] } {
  const a = Float64Array.from(h);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let all = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) {
        all += a[i * m + j]! ** 2;
        if (i !== j) off += a[i * m + j]! ** 2;
      }
    if (off <= 1e-30 * all || off === 0) break;
    for (let p = 0; p < m; p++)
      for (let r = p + 1; r < m; r++) {
        const apr = a[p * m + r]!;
        if (apr === 0) continue;
        const theta = (a[r * m + r]! - a[p * m + p]!) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = a[k * m + p]!;
          const akr = a[k * m + r]!;
          a[k * m + p] = c * akp - s * akr;
          a[k * m + r] = s * akp + c * akr;
        }
        for (let k = 0; k < m; k++) {
          const apk = a[p * m + k]!;
          const ark = a[r * m + k]!;
          a[p * m + k] = c * apk - s * ark;
          a[r * m + k] = s * apk + c * ark;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p]!;
          const vkr = v[k * m + r]!;
          v[k * m + p] = c * vkp - s * vkr;
          v[k * m + r] = s * vkp + c * vkr;
        }
      }
  }
  const values = new Float64Array(m).map((_, i) => a[i * m + i]!);
  const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => values[y]! - values[x]! || x - y);
  return { values, vectors: v, order };
}
