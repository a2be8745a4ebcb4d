// Attention backward, dq: one query row per invocation (rows of one (batch, head) per workgroup, keys read
// at uniform addresses), summing over keys in order — deterministic, nothing shared between invocations.
// Scores are recomputed from q, k and the saved lse: P = exp(s − lse), dP = (dO·v)·keep,
// dS = P·(dP − Δ), dq = scale · Σ_j dS_j k_j.

@group(0) @binding(0) var<storage, read_write> dq: array<T>;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read> g: array<T>;
@group(0) @binding(5) var<storage, read> ld: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read> bias: array<T>;
@group(0) @binding(8) var<uniform> p: P;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wid = wid3.x + wid3.y * nwg.x;
  let bh = wid / p.tiles;
  if (bh >= p.B * p.H) { return; }
  let b = bh / p.H;
  let h = bh % p.H;
  let i0 = (wid % p.tiles) * WG;
  let i = i0 + lid;
  let ir = min(i, p.Lq - 1u);
  var qv: array<vec4<f32>, 32>;
  var gv: array<vec4<f32>, 32>;
  var acc: array<vec4<f32>, 32>;
  let qb = row_q(b, h, ir);
  let gb = row_g(b, h, ir);
  for (var c = 0u; c < p.d4; c++) {
    qv[c] = ld_q(qb, c) * p.scale;
    gv[c] = ld_g(gb, c);
    acc[c] = vec4<f32>(0.0);
  }
  let lse = ld[2u * (bh * p.Lq + ir)];
  let delta = ld[2u * (bh * p.Lq + ir) + 1u];
  var kend = p.Lk;
  if (p.causal != 0u) { kend = min(p.Lk, min(i0 + WG, p.Lq)); }
  for (var j = 0u; j < kend; j++) {
    let kb = row_k(b, h, j);
    let vb = row_v(b, h, j);
    var dot = vec4<f32>(0.0);
    var dpv = vec4<f32>(0.0);
    for (var c = 0u; c < p.d4; c++) {
      dot = fma(qv[c], ld_k(kb, c), dot);
      dpv = fma(gv[c], ld_v(vb, c), dpv);
    }
    let pr = exp(masked(hsum(dot), b, h, ir, j) - lse);
    let ds = pr * (hsum(dpv) * keep(bh, ir, j) - delta);
    for (var c = 0u; c < p.d4; c++) { acc[c] = fma(vec4<f32>(ds), ld_k(kb, c), acc[c]); }
  }
  if (p.nb != 0u) {
    var dot = vec4<f32>(0.0);
    var dpv = vec4<f32>(0.0);
    for (var c = 0u; c < p.d4; c++) {
      dot = fma(qv[c], ld_bias(h * p.dh, c), dot);
      dpv = fma(gv[c], ld_bias((p.H + h) * p.dh, c), dpv);
    }
    let pr = exp(hsum(dot) - lse);
    let ds = pr * (hsum(dpv) * keep(bh, ir, p.Lk) - delta);
    for (var c = 0u; c < p.d4; c++) { acc[c] = fma(vec4<f32>(ds), ld_bias(h * p.dh, c), acc[c]); }
  }
  if (i >= p.Lq) { return; }
  let ob = (bh * p.Lq + i) * p.dh;
  for (var c = 0u; c < p.d4; c++) {
    let o = acc[c] * p.scale;
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { dq[ob + 4u * c + e] = T(o[e]); } }
  }
}
