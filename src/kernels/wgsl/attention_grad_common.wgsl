// Shared by the attention dq and dk/dv kernels (prepended after attention_common.wgsl): their input bindings
// (each kernel declares only its output, binding 0), rows of the output gradient g (dO), the per-row statistics
// ld = (lse, Δ = Σ_d dO·O), and the dk/dv kernels' key rows (row Lk the bias-kv token), query range and output
// layout; for the plain and workgroup-memory kernels, dq's bias-kv term and the dk/dv set-up they share.

@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read> g: array<T>;
@group(0) @binding(5) var<storage, read> ld: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read> bias: array<T>;
@group(0) @binding(8) var<uniform> p: P;

fn row_g(w: Tile, i: u32) -> u32 { return p.gs.x + w.b * p.gs.y + w.h * p.gs.z + i * p.gs.w; }

fn ld_g(base: u32, c: u32) -> vec4<f32> {
  let d = base + 4u * c;
  if (4u * c + 4u <= p.dh) { return vec4<f32>(f32(g[d]), f32(g[d + 1u]), f32(g[d + 2u]), f32(g[d + 3u])); }
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { r[e] = f32(g[d + e]); } }
  return r;
}

// (lse, Δ) of query row i.
fn stats(w: Tile, i: u32) -> vec2<f32> {
  let r = 2u * (w.bh * p.Lq + i);
  return vec2<f32>(ld[r], ld[r + 1u]);
}

// vec4 c of key row j, scaled, and of value row j; row Lk is the bias-kv token.
fn key_of(w: Tile, j: u32, c: u32) -> vec4<f32> {
  if (j == p.Lk) { return ld_bias(w.h * p.dh, c) * p.scale; }
  return ld_k(row_k(w, j), c) * p.scale;
}
fn value_of(w: Tile, j: u32, c: u32) -> vec4<f32> {
  if (j == p.Lk) { return ld_bias((p.H + w.h) * p.dh, c); }
  return ld_v(row_v(w, j), c);
}

// Causal: queries before the tile's first key see none of its keys (unless the tile holds the bias token).
fn query_start(j0: u32) -> u32 {
  if ((p.causal != 0u) && j0 + WG <= p.Lk) { return min(j0, p.Lq); }
  return 0u;
}

// Where key row j's dk and dv start in dk [B·H·Lk·dh] ‖ dv [B·H·Lk·dh] ‖ (dbk, dbv) [B·H·2·dh]; row Lk, the
// bias-kv token, goes to its (batch, head)'s partial, which the launcher sums over the batch.
fn dkv_out(w: Tile, j: u32) -> vec2<u32> {
  let n = p.B * p.H * p.Lk * p.dh;
  if (j == p.Lk) { return vec2<u32>(2u * n + 2u * w.bh * p.dh) + vec2<u32>(0u, p.dh); }
  return vec2<u32>((w.bh * p.Lk + j) * p.dh) + vec2<u32>(0u, n);
}

// dq's term for the bias-kv token (key Lk, never masked) of query row ir with statistics st = (lse, Δ):
// shared by the plain and workgroup-memory dq kernels, so they stay bit-equal.
fn dq_bias_token(w: Tile, ir: u32, st: vec2<f32>, qv: ptr<function, Row>, gv: ptr<function, Row>, acc: ptr<function, Row>) {
  var dot = vec4<f32>(0.0);
  var dpv = vec4<f32>(0.0);
  for (var c = 0u; c < p.d4; c++) {
    dot = fma((*qv)[c], ld_bias(w.h * p.dh, c), dot);
    dpv = fma((*gv)[c], ld_bias((p.H + w.h) * p.dh, c), dpv);
  }
  let pr = exp(hsum(dot) - st.x);
  let ds = pr * (hsum(dpv) * keep(w, ir, p.Lk) - st.y);
  for (var c = 0u; c < p.d4; c++) { (*acc)[c] = fma(vec4<f32>(ds), ld_bias(w.h * p.dh, c), (*acc)[c]); }
}

// The dk/dv kernels' key row jr in registers (k scaled; row Lk the bias-kv token) and zeroed accumulators:
// shared by the plain and workgroup-memory dk/dv kernels.
fn dkdv_start(w: Tile, jr: u32, kv: ptr<function, Row>, vv: ptr<function, Row>, dka: ptr<function, Row>, dva: ptr<function, Row>) {
  for (var c = 0u; c < p.d4; c++) {
    (*kv)[c] = key_of(w, jr, c);
    (*vv)[c] = value_of(w, jr, c);
    (*dka)[c] = vec4<f32>(0.0);
    (*dva)[c] = vec4<f32>(0.0);
  }
}
