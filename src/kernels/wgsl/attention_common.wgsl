// Shared by the flash-attention forward, dq and dk/dv kernels (prepended after philox.wgsl): the WG override,
// the uniform block, the workgroup → (batch, head, first row) mapping, row loads through strides, the key
// range of a causal query tile, the masked score of one (query, key) pair, the dropout keep factor, the Row
// of a kernel's per-row arrays and the plain and workgroup-memory forwards' bias-kv step. Each
// kernel (the backward ones through attention_grad_common.wgsl) declares the globals q, k, v, mask
// (array<u32>), bias (array<T>) and p.
// Rows of q/k/v/dO are addressed as off + b·sb + h·sh + row·sl with the head dim contiguous.

override WG: u32 = 16u;               // rows (queries or keys) per workgroup, one per invocation

struct P {
  B: u32, H: u32, Lq: u32, Lk: u32,
  nb: u32, tiles: u32, dh: u32, d4: u32, // dh: head dim (≤ 128), d4: vec4s per row
  scale: f32, drop_p: f32, drop_scale: f32, ninf: f32,
  key0: u32, key1: u32, off0: u32, off1: u32,
  qs: vec4<u32>, ks: vec4<u32>, vs: vec4<u32>, gs: vec4<u32>, // (offset, batch, head, row) strides
  ms: vec4<u32>, // mask strides (batch, head, query, key); 0 on broadcast axes
  m_off: u32,
  mask: u32,   // 0: none, 1: additive f32, 2: boolean (nonzero = take part)
  causal: u32, // 1: key j takes part in query i only when j ≤ i (top-left aligned)
  dropout: u32,
}

// A workgroup's WG rows (queries, or keys): rows r0.. of (batch b, head h), bh = b·H + h. Workgroups are
// numbered linearly (the launcher folds large grids over x and y); bh ≥ B·H marks one past the end.
struct Tile { bh: u32, b: u32, h: u32, r0: u32 }

fn tile(wid: vec3<u32>, nwg: vec3<u32>) -> Tile {
  let lin = wid.x + wid.y * nwg.x;
  let bh = lin / p.tiles;
  return Tile(bh, bh / p.H, bh % p.H, (lin % p.tiles) * WG);
}

fn row_q(w: Tile, i: u32) -> u32 { return p.qs.x + w.b * p.qs.y + w.h * p.qs.z + i * p.qs.w; }
fn row_k(w: Tile, j: u32) -> u32 { return p.ks.x + w.b * p.ks.y + w.h * p.ks.z + j * p.ks.w; }
fn row_v(w: Tile, j: u32) -> u32 { return p.vs.x + w.b * p.vs.y + w.h * p.vs.z + j * p.vs.w; }

// Elements 4c..4c+3 of a row at `base`; lanes past p.dh read as 0.
fn ld_q(base: u32, c: u32) -> vec4<f32> {
  let d = base + 4u * c;
  if (4u * c + 4u <= p.dh) { return vec4<f32>(f32(q[d]), f32(q[d + 1u]), f32(q[d + 2u]), f32(q[d + 3u])); }
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { r[e] = f32(q[d + e]); } }
  return r;
}
fn ld_k(base: u32, c: u32) -> vec4<f32> {
  let d = base + 4u * c;
  if (4u * c + 4u <= p.dh) { return vec4<f32>(f32(k[d]), f32(k[d + 1u]), f32(k[d + 2u]), f32(k[d + 3u])); }
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { r[e] = f32(k[d + e]); } }
  return r;
}
fn ld_v(base: u32, c: u32) -> vec4<f32> {
  let d = base + 4u * c;
  if (4u * c + 4u <= p.dh) { return vec4<f32>(f32(v[d]), f32(v[d + 1u]), f32(v[d + 2u]), f32(v[d + 3u])); }
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { r[e] = f32(v[d + e]); } }
  return r;
}
// The packed bias-kv rows: bias[h·p.dh..] is head h's extra key, bias[(H + h)·p.dh..] its extra value.
fn ld_bias(base: u32, c: u32) -> vec4<f32> {
  let d = base + 4u * c;
  if (4u * c + 4u <= p.dh) { return vec4<f32>(f32(bias[d]), f32(bias[d + 1u]), f32(bias[d + 2u]), f32(bias[d + 3u])); }
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { r[e] = f32(bias[d + e]); } }
  return r;
}

fn hsum(x: vec4<f32>) -> f32 { return (x.x + x.y) + (x.z + x.w); }

// A row's vec4s, head dims up to 128: the per-row arrays of every kernel (function-scope in the plain and
// workgroup-memory kernels, private in the register ones).
alias Row = array<vec4<f32>, 32>;

// The forward's online-softmax step for the bias-kv token of query row ir (key Lk, never masked): the plain
// and workgroup-memory forwards share it, so they stay bit-equal.
fn forward_bias_token(w: Tile, ir: u32, qv: ptr<function, Row>, acc: ptr<function, Row>, m: ptr<function, f32>, l: ptr<function, f32>) {
  var dot = vec4<f32>(0.0);
  for (var c = 0u; c < p.d4; c++) { dot = fma((*qv)[c], ld_bias(w.h * p.dh, c), dot); }
  let sv = hsum(dot);
  let mn = max(*m, sv);
  let corr = exp(*m - mn);
  let pr = exp(sv - mn);
  *l = *l * corr + pr;
  let pv = pr * keep(w, ir, p.Lk);
  for (var c = 0u; c < p.d4; c++) { (*acc)[c] = fma(vec4<f32>(pv), ld_bias((p.H + w.h) * p.dh, c), (*acc)[c] * corr); }
  *m = mn;
}

// The keys (< Lk) a tile of queries from i0 visits: all, or under the causal rule none past its last row.
fn key_end(i0: u32) -> u32 {
  if (p.causal != 0u) { return min(p.Lk, min(i0 + WG, p.Lq)); }
  return p.Lk;
}

// The scaled score s of (query i, key j < Lk) with the mask and the causal rule applied (−inf: excluded).
fn masked(s: f32, w: Tile, i: u32, j: u32) -> f32 {
  var r = s;
  if (p.mask != 0u) {
    let m = mask[p.m_off + w.b * p.ms.x + w.h * p.ms.y + i * p.ms.z + j * p.ms.w];
    if (p.mask == 1u) { r += bitcast<f32>(m); } else if (m == 0u) { r = p.ninf; }
  }
  if ((p.causal != 0u) && j > i) { r = p.ninf; }
  return r;
}

// Dropout on probability (bh, i, j) of the [B·H, Lq, Lk + nb] matrix: 0 or 1/(1 − p). The draw index is the
// flat index, exactly as the dropout kernel numbers the elements of that matrix.
fn keep(w: Tile, i: u32, j: u32) -> f32 {
  if (p.dropout == 0u) { return 1.0; }
  let e = (w.bh * p.Lq + i) * (p.Lk + p.nb) + j;
  let r = philox_block(p.off0, p.off1, e / 4u, vec2<u32>(p.key0, p.key1));
  return select(0.0, p.drop_scale, unit(r[e % 4u]) >= p.drop_p);
}
