// Flash-attention forward: one query row per invocation, WG rows of one (batch, head) per workgroup, so each
// key and value row is read at an address uniform across the workgroup. Keys come in tiles of BK: their
// scores are kept in registers, then the running max m, the running sum l and the output accumulator are
// rescaled once per tile (online softmax). The L×L score matrix never exists; lse = m + log l is saved per
// row for backward (+inf for a row with no key taking part, whose output is 0).

override BK: u32 = 16u; // keys per tile (≤ 32)

@group(0) @binding(0) var<storage, read_write> out: array<T>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<T>;
@group(0) @binding(3) var<storage, read> k: array<T>;
@group(0) @binding(4) var<storage, read> v: array<T>;
@group(0) @binding(5) var<storage, read> mask: array<u32>;
@group(0) @binding(6) var<storage, read> bias: array<T>;
@group(0) @binding(7) var<uniform> p: P;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = tile(wid3, nwg);
  if (w.bh >= p.B * p.H) { return; }
  let i = w.r0 + lid;
  let ir = min(i, p.Lq - 1u); // lanes past the end compute on the last row and write nothing
  var qv: Row;
  var acc: Row;
  let qb = row_q(w, ir);
  for (var c = 0u; c < p.d4; c++) {
    qv[c] = ld_q(qb, c) * p.scale;
    acc[c] = vec4<f32>(0.0);
  }
  var m = -3.4028234663852886e38;
  var l = 0.0;
  let kend = key_end(w.r0);
  var s: array<f32, 32>;
  for (var j0 = 0u; j0 < kend; j0 += BK) {
    let n = min(BK, kend - j0);
    var tmax = m;
    for (var t = 0u; t < n; t++) {
      let kb = row_k(w, j0 + t);
      var dot = vec4<f32>(0.0);
      for (var c = 0u; c < p.d4; c++) { dot = fma(qv[c], ld_k(kb, c), dot); }
      let sv = masked(hsum(dot), w, ir, j0 + t);
      s[t] = sv;
      tmax = max(tmax, sv);
    }
    let corr = exp(m - tmax);
    l *= corr;
    for (var c = 0u; c < p.d4; c++) { acc[c] *= corr; }
    for (var t = 0u; t < n; t++) {
      let pr = exp(s[t] - tmax);
      l += pr;
      let pv = pr * keep(w, ir, j0 + t);
      let vb = row_v(w, j0 + t);
      for (var c = 0u; c < p.d4; c++) { acc[c] = fma(vec4<f32>(pv), ld_v(vb, c), acc[c]); }
    }
    m = tmax;
  }
  if (p.nb != 0u) { forward_bias_token(w, ir, &qv, &acc, &m, &l); } // the bias-kv token: never masked
  if (i >= p.Lq) { return; }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let ob = (w.bh * p.Lq + i) * p.dh;
  for (var c = 0u; c < p.d4; c++) {
    let o = acc[c] * inv;
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { out[ob + 4u * c + e] = T(o[e]); } }
  }
  lse[w.bh * p.Lq + i] = select(-p.ninf, m + log(l), l > 0.0);
}
