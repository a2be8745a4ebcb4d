// Attention backward, dq, for CPU adapters (prepended: philox, attention_common, attention_grad_common,
// attention_reg_common): attention_dq.wgsl's order of summation — one query row per invocation, keys in
// order, deterministic — with q, dO and the dq accumulator in constant-indexed private arrays and each
// key/value row loaded once per 8 lanes and shared by subgroupBroadcast.
//   P = exp(s − lse), dP = (dO·v)·keep, dS = P·(dP − Δ), dq = scale · Σ_j dS_j k_j

@group(0) @binding(0) var<storage, read_write> dq: array<T>; // bindings 1–8: attention_grad_common.wgsl

var<private> qv: Row;
var<private> gv: Row;
var<private> acc: Row;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32) {
  lane = sl % 8u;
  let w = tile(wid3, nwg);
  if (w.bh >= p.B * p.H) { return; }
  let i = w.r0 + lid;
  let ir = min(i, p.Lq - 1u);
  let qb = row_q(w, ir);
  let gb = row_g(w, ir);
  for (var c = 0u; c < D4; c++) {
    qv[c] = ld_q(qb, c) * p.scale;
    gv[c] = ld_g(gb, c);
    acc[c] = vec4<f32>(0.0);
  }
  let st = stats(w, ir); // (lse, Δ)
  let kend = key_end(w.r0);
  for (var j = 0u; j < kend; j++) {
    let ks = share_k(row_k(w, j));
    let pr = exp(masked(dot_row(&qv, ks), w, ir, j) - st.x);
    let ds = pr * (dot_row(&gv, share_v(row_v(w, j))) * keep(w, ir, j) - st.y);
    axpy_row(&acc, ds, ks);
  }
  if (p.nb != 0u) {
    let ks = share_bias(w.h * p.dh);
    let pr = exp(dot_row(&qv, ks) - st.x);
    let ds = pr * (dot_row(&gv, share_bias((p.H + w.h) * p.dh)) * keep(w, ir, p.Lk) - st.y);
    axpy_row(&acc, ds, ks);
  }
  if (i >= p.Lq) { return; }
  let ob = (w.bh * p.Lq + i) * p.dh;
  for (var c = 0u; c < D4; c++) {
    let o = acc[c] * p.scale;
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { dq[ob + 4u * c + e] = T(o[e]); } }
  }
}
