// Attention backward, dq, for CPU adapters (prepended: philox, attention_common, attention_grad_common,
// attention_reg_common): attention_dq.wgsl's order of summation — one query row per invocation, keys in
// order, deterministic — with q, dO and the dq accumulator in constant-indexed private arrays and each
// key/value row loaded once per 8 lanes and shared by subgroupBroadcast.
//   P = exp(s − lse), dP = (dO·v)·keep, dS = P·(dP − Δ), dq = scale · Σ_j dS_j k_j

@group(0) @binding(0) var<storage, read_write> dq: array<T>;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read> g: array<T>;
@group(0) @binding(5) var<storage, read> ld: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read> bias: array<T>;
@group(0) @binding(8) var<uniform> p: P;

var<private> qv: Row;
var<private> gv: Row;
var<private> acc: Row;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32) {
  lane = sl % 8u;
  let wid = wid3.x + wid3.y * nwg.x;
  let bh = wid / p.tiles;
  if (bh >= p.B * p.H) { return; }
  let b = bh / p.H;
  let h = bh % p.H;
  let i0 = (wid % p.tiles) * WG;
  let i = i0 + lid;
  let ir = min(i, p.Lq - 1u);
  let qb = row_q(b, h, ir);
  let gb = row_g(b, h, ir);
  for (var c = 0u; c < D4; c++) {
    qv[c] = ld_q(qb, c) * p.scale;
    gv[c] = ld_g(gb, c);
    acc[c] = vec4<f32>(0.0);
  }
  let lse = ld[2u * (bh * p.Lq + ir)];
  let delta = ld[2u * (bh * p.Lq + ir) + 1u];
  var kend = p.Lk;
  if (p.causal != 0u) { kend = min(p.Lk, min(i0 + WG, p.Lq)); }
  for (var j = 0u; j < kend; j++) {
    let ks = share_k(row_k(b, h, j));
    let pr = exp(masked(dot_row(&qv, ks), b, h, ir, j) - lse);
    let ds = pr * (dot_row(&gv, share_v(row_v(b, h, j))) * keep(bh, ir, j) - delta);
    axpy_row(&acc, ds, ks);
  }
  if (p.nb != 0u) {
    let ks = share_bias(h * p.dh);
    let pr = exp(dot_row(&qv, ks) - lse);
    let ds = pr * (dot_row(&gv, share_bias((p.H + h) * p.dh)) * keep(bh, ir, p.Lk) - delta);
    axpy_row(&acc, ds, ks);
  }
  if (i >= p.Lq) { return; }
  let ob = (bh * p.Lq + i) * p.dh;
  for (var c = 0u; c < D4; c++) {
    let o = acc[c] * p.scale;
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { dq[ob + 4u * c + e] = T(o[e]); } }
  }
}
