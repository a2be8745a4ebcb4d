// Flash-attention forward for CPU adapters (prepended: philox, attention_common, attention_reg_common): the
// design of attention_forward.wgsl — one query row per invocation, WG rows of one (batch, head) per
// workgroup, online softmax over tiles of BK keys, lse saved per row, no L×L buffer — with the query row
// and the output accumulator in constant-indexed private arrays (D4 a compile-time constant) and each
// key/value row loaded once per 8 lanes and shared by subgroupBroadcast.

override BK: u32 = 16u; // keys per tile (≤ 32)

@group(0) @binding(0) var<storage, read_write> out: array<T>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<T>;
@group(0) @binding(3) var<storage, read> k: array<T>;
@group(0) @binding(4) var<storage, read> v: array<T>;
@group(0) @binding(5) var<storage, read> mask: array<u32>;
@group(0) @binding(6) var<storage, read> bias: array<T>;
@group(0) @binding(7) var<uniform> p: P;

var<private> qv: Row;
var<private> acc: Row;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32) {
  lane = sl % 8u;
  let w = tile(wid3, nwg);
  if (w.bh >= p.B * p.H) { return; }
  let i = w.r0 + lid;
  let ir = min(i, p.Lq - 1u); // lanes past the end compute on the last row and write nothing
  let qb = row_q(w, ir);
  for (var c = 0u; c < D4; c++) {
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
      let sv = masked(dot_row(&qv, share_k(row_k(w, j0 + t))), w, ir, j0 + t);
      s[t] = sv;
      tmax = max(tmax, sv);
    }
    let corr = exp(m - tmax);
    l *= corr;
    for (var c = 0u; c < D4; c++) { acc[c] *= corr; }
    for (var t = 0u; t < n; t++) {
      let pr = exp(s[t] - tmax);
      l += pr;
      axpy_row(&acc, pr * keep(w, ir, j0 + t), share_v(row_v(w, j0 + t)));
    }
    m = tmax;
  }
  if (p.nb != 0u) { // the extra bias key/value token: never masked
    let sv = dot_row(&qv, share_bias(w.h * p.dh));
    let mn = max(m, sv);
    let corr = exp(m - mn);
    let pr = exp(sv - mn);
    l = l * corr + pr;
    for (var c = 0u; c < D4; c++) { acc[c] *= corr; }
    axpy_row(&acc, pr * keep(w, ir, p.Lk), share_bias((p.H + w.h) * p.dh));
    m = mn;
  }
  if (i >= p.Lq) { return; }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let ob = (w.bh * p.Lq + i) * p.dh;
  for (var c = 0u; c < D4; c++) {
    let o = acc[c] * inv;
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { out[ob + 4u * c + e] = T(o[e]); } }
  }
  lse[w.bh * p.Lq + i] = select(-p.ninf, m + log(l), l > 0.0);
}
