// Attention backward, dk and dv: one key row per invocation (rows of one (batch, head) per workgroup, queries
// read at uniform addresses), summing over queries in order — deterministic, no atomics. Row Lk of each
// (batch, head) is the bias-kv token when there is one; its gradients go to a per-(batch, head) partial that
// the launcher sums over the batch. Output layout: dk [B·H·Lk·p.dh] ‖ dv [B·H·Lk·p.dh] ‖ (dbk, dbv) [B·H·2·p.dh].
//   P = exp(s − lse), P̃ = P·keep, dv = Σ_i P̃ dO_i, dS = P·((dO_i·v)·keep − Δ_i), dk = scale · Σ_i dS q_i

@group(0) @binding(0) var<storage, read_write> dkv: array<T>; // bindings 1–8: attention_grad_common.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = tile(wid3, nwg);
  if (w.bh >= p.B * p.H) { return; }
  let nk = p.Lk + p.nb;
  let j = w.r0 + lid;
  let jr = min(j, nk - 1u);
  let isb = jr == p.Lk; // the bias-kv token
  var kv: Row;
  var vv: Row;
  var dka: Row;
  var dva: Row;
  dkdv_start(w, jr, &kv, &vv, &dka, &dva);
  for (var i = query_start(w.r0); i < p.Lq; i++) {
    let qb = row_q(w, i);
    let gb = row_g(w, i);
    var dot = vec4<f32>(0.0);
    var dpv = vec4<f32>(0.0);
    for (var c = 0u; c < p.d4; c++) {
      dot = fma(ld_q(qb, c), kv[c], dot);
      dpv = fma(ld_g(gb, c), vv[c], dpv);
    }
    var s = hsum(dot);
    if (!isb) { s = masked(s, w, i, jr); }
    let st = stats(w, i); // (lse, Δ)
    let pr = exp(s - st.x);
    let kp = keep(w, i, jr);
    let ds = pr * (hsum(dpv) * kp - st.y);
    let pt = pr * kp;
    for (var c = 0u; c < p.d4; c++) {
      dva[c] = fma(vec4<f32>(pt), ld_g(gb, c), dva[c]);
      dka[c] = fma(vec4<f32>(ds), ld_q(qb, c), dka[c]);
    }
  }
  if (j >= nk) { return; }
  let ob = dkv_out(w, j); // (dk, dv)
  for (var c = 0u; c < p.d4; c++) {
    let dk = dka[c] * p.scale;
    let dv = dva[c];
    for (var e = 0u; e < 4u; e++) {
      if (4u * c + e < p.dh) {
        dkv[ob.x + 4u * c + e] = T(dk[e]);
        dkv[ob.y + 4u * c + e] = T(dv[e]);
      }
    }
  }
}
