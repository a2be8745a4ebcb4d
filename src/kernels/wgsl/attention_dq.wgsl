// Attention backward, dq: one query row per invocation (rows of one (batch, head) per workgroup, keys read
// at uniform addresses), summing over keys in order — deterministic, nothing shared between invocations.
// Scores are recomputed from q, k and the saved lse: P = exp(s − lse), dP = (dO·v)·keep,
// dS = P·(dP − Δ), dq = scale · Σ_j dS_j k_j.

@group(0) @binding(0) var<storage, read_write> dq: array<T>; // bindings 1–8: attention_grad_common.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = tile(wid3, nwg);
  if (w.bh >= p.B * p.H) { return; }
  let i = w.r0 + lid;
  let ir = min(i, p.Lq - 1u);
  var qv: Row;
  var gv: Row;
  var acc: Row;
  let qb = row_q(w, ir);
  let gb = row_g(w, ir);
  for (var c = 0u; c < p.d4; c++) {
    qv[c] = ld_q(qb, c) * p.scale;
    gv[c] = ld_g(gb, c);
    acc[c] = vec4<f32>(0.0);
  }
  let st = stats(w, ir); // (lse, Δ)
  let kend = key_end(w.r0);
  for (var j = 0u; j < kend; j++) {
    let kb = row_k(w, j);
    let vb = row_v(w, j);
    var dot = vec4<f32>(0.0);
    var dpv = vec4<f32>(0.0);
    for (var c = 0u; c < p.d4; c++) {
      dot = fma(qv[c], ld_k(kb, c), dot);
      dpv = fma(gv[c], ld_v(vb, c), dpv);
    }
    let pr = exp(masked(hsum(dot), w, ir, j) - st.x);
    let ds = pr * (hsum(dpv) * keep(w, ir, j) - st.y);
    for (var c = 0u; c < p.d4; c++) { acc[c] = fma(vec4<f32>(ds), ld_k(kb, c), acc[c]); }
  }
  if (p.nb != 0u) { dq_bias_token(w, ir, st, &qv, &gv, &acc); }
  if (i >= p.Lq) { return; }
  let ob = (w.bh * p.Lq + i) * p.dh;
  for (var c = 0u; c < p.d4; c++) {
    let o = acc[c] * p.scale;
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { dq[ob + 4u * c + e] = T(o[e]); } }
  }
}
