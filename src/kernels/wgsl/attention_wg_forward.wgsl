// Flash-attention forward with its key/value tiles in workgroup memory, for GPUs: the workgroup copies BK
// key and value rows into workgroup memory together (one vec4 per invocation and step), then every
// invocation — one query row each — scores them and updates its online softmax exactly as
// attention_forward.wgsl does (same order of operations, so the same bits for the same BK). lse = m + log l
// per row for backward. Prepended: philox.wgsl, attention_common.wgsl (P, tile(), loads, masked(), keep(),
// the bias-kv step), attention_wg_common.wgsl (BK, the tiles ta (keys) and tb (values), stage_kv).

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
  if (w.bh >= p.B * p.H) { return; } // uniform: the whole workgroup leaves
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
    stage_kv(w, j0, n, lid);
    workgroupBarrier();
    var tmax = m;
    for (var t = 0u; t < n; t++) {
      var dot = vec4<f32>(0.0);
      for (var c = 0u; c < p.d4; c++) { dot = fma(qv[c], ta[t * TILE_ROW + c], dot); }
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
      for (var c = 0u; c < p.d4; c++) { acc[c] = fma(vec4<f32>(pv), tb[t * TILE_ROW + c], acc[c]); }
    }
    m = tmax;
    workgroupBarrier(); // every invocation is done with this tile before the next overwrites it
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
