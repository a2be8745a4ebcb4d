// Workgroup-memory tiled matmul C[i, j] = Σ_k A[i, k]·B[k, j], for GPUs: a workgroup computes a BM×BN tile
// of C; per step of BK along k it copies an A tile [BK][BM] and a B tile [BK][BN] into workgroup memory
// (double-buffered: the next tiles are fetched into registers while the current ones are multiplied, then
// stored into the other buffer — one barrier per step), and each invocation accumulates TM×TN outputs in f32
// registers. Storage T may be f16 (workgroup tiles stay in T; every product is formed in f32). Each output
// sums its k terms in order with one fma each, as the register-blocked kernels do.
// Global loads are vec4 along an operand's contiguous axis when the launcher says it is aligned (uniform
// a_mode / b_mode: 1 along k, 2 along m or n) and 4 scalar loads otherwise (mode 0, any strides).
// The prelude declares T, O (output type), Acc = array<vec4<f32>, TM·TN/4>, BRow = array<vec4<f32>, TN/4>,
// StA = array<vec4<T>, LA> and StB = array<vec4<T>, LB> (LA = BM·BK/4/THREADS, LB likewise).

override BM: u32 = 64u;       // rows of C per workgroup (multiple of 4·(BM/TM)… see the launcher's checks)
override BN: u32 = 64u;       // columns of C per workgroup
override BK: u32 = 16u;       // k per step (multiple of 4)
override TM: u32 = 4u;        // rows of C per invocation (multiple of 4)
override TN: u32 = 4u;        // columns of C per invocation (multiple of 4)
override THREADS: u32 = 256u; // (BM/TM)·(BN/TN)

struct P {
  M: u32, N: u32, K: u32, brank: u32,
  a_off: u32, a_rs: u32, a_cs: u32, tiles_n: u32,
  b_off: u32, b_rs: u32, b_cs: u32, tiles_m: u32,
  gx: u32, batch: u32, a_mode: u32, b_mode: u32,
  bshape: vec4<u32>, a_bs: vec4<u32>, b_bs: vec4<u32>,
}

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> a4: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> b: array<T>;
@group(0) @binding(4) var<storage, read> b4: array<vec4<T>>;
@group(0) @binding(5) var<uniform> p: P;

// [buffer][k][m / 4] and [buffer][k][n / 4]: an invocation's rows (columns) are vec4 groups strided by the
// number of invocations along m (n), so neighbouring invocations read neighbouring vec4s.
var<workgroup> sa: array<vec4<T>, 2u * BK * BM / 4u>;
var<workgroup> sb: array<vec4<T>, 2u * BK * BN / 4u>;

struct Tile { ok: bool, m0: u32, n0: u32, ao: u32, bo: u32, oo: u32 }

// Workgroups are numbered linearly (the launcher folds large grids over x and y); column tiles vary fastest.
fn tile_of(wid: vec3<u32>) -> Tile {
  var t: Tile;
  let lin = wid.x + wid.y * p.gx;
  let rest = lin / p.tiles_n;
  let bz = rest / p.tiles_m;
  t.ok = bz < p.batch;
  t.m0 = (rest % p.tiles_m) * BM;
  t.n0 = (lin % p.tiles_n) * BN;
  t.ao = p.a_off;
  t.bo = p.b_off;
  var rem = bz;
  for (var d = i32(p.brank) - 1; d >= 0; d--) {
    let c = rem % p.bshape[d];
    rem = rem / p.bshape[d];
    t.ao += c * p.a_bs[d];
    t.bo += c * p.b_bs[d];
  }
  t.oo = bz * p.M * p.N;
  return t;
}

// Chunk c of the A tile at k0: four consecutive elements along k (mode 1) or along m (modes 0, 2), zero
// outside the matrix. Mode 1 needs K % 4 == 0, mode 2 M % 4 == 0, and aligned offsets (the launcher checks).
fn load_a(t: Tile, k0: u32, c: u32) -> vec4<T> {
  if (p.a_mode == 1u) {
    let m = t.m0 + c / (BK / 4u);
    let k = k0 + 4u * (c % (BK / 4u));
    if (m >= p.M || k >= p.K) { return vec4<T>(); }
    return a4[(t.ao + m * p.a_rs + k) / 4u];
  }
  let k = k0 + c / (BM / 4u);
  let m = t.m0 + 4u * (c % (BM / 4u));
  if (k >= p.K || m >= p.M) { return vec4<T>(); }
  if (p.a_mode == 2u) { return a4[(t.ao + k * p.a_cs + m) / 4u]; }
  var v = vec4<T>();
  for (var e = 0u; e < 4u; e++) { if (m + e < p.M) { v[e] = a[t.ao + (m + e) * p.a_rs + k * p.a_cs]; } }
  return v;
}

fn store_a(buf: u32, c: u32, v: vec4<T>) {
  if (p.a_mode == 1u) {
    let m = c / (BK / 4u);
    let k = 4u * (c % (BK / 4u));
    for (var e = 0u; e < 4u; e++) { sa[(buf * BK + k + e) * (BM / 4u) + m / 4u][m % 4u] = v[e]; }
    return;
  }
  sa[buf * BK * (BM / 4u) + c] = v;
}

// The same for B: along k (mode 1, B read transposed) or along n (modes 0, 2).
fn load_b(t: Tile, k0: u32, c: u32) -> vec4<T> {
  if (p.b_mode == 1u) {
    let n = t.n0 + c / (BK / 4u);
    let k = k0 + 4u * (c % (BK / 4u));
    if (n >= p.N || k >= p.K) { return vec4<T>(); }
    return b4[(t.bo + n * p.b_cs + k) / 4u];
  }
  let k = k0 + c / (BN / 4u);
  let n = t.n0 + 4u * (c % (BN / 4u));
  if (k >= p.K || n >= p.N) { return vec4<T>(); }
  if (p.b_mode == 2u) { return b4[(t.bo + k * p.b_rs + n) / 4u]; }
  var v = vec4<T>();
  for (var e = 0u; e < 4u; e++) { if (n + e < p.N) { v[e] = b[t.bo + k * p.b_rs + (n + e) * p.b_cs]; } }
  return v;
}

fn store_b(buf: u32, c: u32, v: vec4<T>) {
  if (p.b_mode == 1u) {
    let n = c / (BK / 4u);
    let k = 4u * (c % (BK / 4u));
    for (var e = 0u; e < 4u; e++) { sb[(buf * BK + k + e) * (BN / 4u) + n / 4u][n % 4u] = v[e]; }
    return;
  }
  sb[buf * BK * (BN / 4u) + c] = v;
}

fn fetch_a(t: Tile, k0: u32, lid: u32) -> StA {
  var r: StA;
  for (var i = 0u; i < BM * BK / 4u / THREADS; i++) { r[i] = load_a(t, k0, lid + i * THREADS); }
  return r;
}
fn fetch_b(t: Tile, k0: u32, lid: u32) -> StB {
  var r: StB;
  for (var i = 0u; i < BN * BK / 4u / THREADS; i++) { r[i] = load_b(t, k0, lid + i * THREADS); }
  return r;
}
fn put(buf: u32, lid: u32, ra: StA, rb: StB) {
  for (var i = 0u; i < BM * BK / 4u / THREADS; i++) { store_a(buf, lid + i * THREADS, ra[i]); }
  for (var i = 0u; i < BN * BK / 4u / THREADS; i++) { store_b(buf, lid + i * THREADS, rb[i]); }
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = tile_of(wid);
  if (!t.ok) { return; } // uniform: the whole workgroup leaves
  let NT = BN / TN; // invocations along n
  let MT = BM / TM; // invocations along m
  let tx = lid % NT;
  let ty = lid / NT;
  var acc: Acc;
  let steps = (p.K + BK - 1u) / BK;
  put(0u, lid, fetch_a(t, 0u, lid), fetch_b(t, 0u, lid));
  workgroupBarrier();
  for (var s = 0u; s < steps; s++) {
    let cur = s % 2u;
    let more = s + 1u < steps;
    var ra: StA;
    var rb: StB;
    if (more) { // the next step's tiles, in flight while this step multiplies
      ra = fetch_a(t, (s + 1u) * BK, lid);
      rb = fetch_b(t, (s + 1u) * BK, lid);
    }
    let abase = cur * BK * (BM / 4u) + ty;
    let bbase = cur * BK * (BN / 4u) + tx;
    for (var kk = 0u; kk < BK; kk++) {
      var bv: BRow;
      for (var j4 = 0u; j4 < TN / 4u; j4++) { bv[j4] = vec4<f32>(sb[bbase + kk * (BN / 4u) + j4 * NT]); }
      for (var i4 = 0u; i4 < TM / 4u; i4++) {
        let av = vec4<f32>(sa[abase + kk * (BM / 4u) + i4 * MT]);
        for (var r = 0u; r < 4u; r++) {
          for (var j4 = 0u; j4 < TN / 4u; j4++) {
            let ai = (i4 * 4u + r) * (TN / 4u) + j4;
            acc[ai] = fma(vec4<f32>(av[r]), bv[j4], acc[ai]);
          }
        }
      }
    }
    // The other buffer was last read in step s − 1, before the previous barrier: safe to overwrite.
    if (more) { put(1u - cur, lid, ra, rb); }
    workgroupBarrier();
  }
  for (var i4 = 0u; i4 < TM / 4u; i4++) {
    for (var r = 0u; r < 4u; r++) {
      let i = t.m0 + 4u * (ty + i4 * MT) + r;
      if (i >= p.M) { continue; }
      for (var j4 = 0u; j4 < TN / 4u; j4++) {
        let o = acc[(i4 * 4u + r) * (TN / 4u) + j4];
        for (var e = 0u; e < 4u; e++) {
          let j = t.n0 + 4u * (tx + j4 * NT) + e;
          if (j < p.N) { out[t.oo + i * p.N + j] = O(o[e]); }
        }
      }
    }
  }
}
