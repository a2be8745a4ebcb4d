// Attention backward, dk and dv, for CPU adapters (prepended: philox, attention_common,
// attention_grad_common, attention_reg_common): attention_dkdv.wgsl's order of summation — one key row
// per invocation (row Lk the bias-kv token), queries in order, deterministic — with k, v and both
// accumulators in constant-indexed private arrays and each q/dO row loaded once per 8 lanes and shared by
// subgroupBroadcast. Output layout: dk [B·H·Lk·p.dh] ‖ dv [B·H·Lk·p.dh] ‖ (dbk, dbv) [B·H·2·p.dh].
//   P = exp(s − lse), P̃ = P·keep, dv = Σ_i P̃ dO_i, dS = P·((dO_i·v)·keep − Δ_i), dk = scale · Σ_i dS q_i

@group(0) @binding(0) var<storage, read_write> dkv: array<T>; // bindings 1–8: attention_grad_common.wgsl

var<private> kv: Row;
var<private> vv: Row;
var<private> dka: Row;
var<private> dva: Row;

fn share_g(base: u32) -> Share {
  var r: Share;
  for (var b = 0u; b < (D4 + 7u) / 8u; b++) { r[b] = ld_g(base, 8u * b + lane); }
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32) {
  lane = sl % 8u;
  let w = tile(wid3, nwg);
  if (w.bh >= p.B * p.H) { return; }
  let nk = p.Lk + p.nb;
  let j = w.r0 + lid;
  let jr = min(j, nk - 1u);
  let isb = jr == p.Lk; // the bias-kv token
  for (var c = 0u; c < D4; c++) {
    kv[c] = key_of(w, jr, c);
    vv[c] = value_of(w, jr, c);
    dka[c] = vec4<f32>(0.0);
    dva[c] = vec4<f32>(0.0);
  }
  for (var i = query_start(w.r0); i < p.Lq; i++) {
    let qs = share_q(row_q(w, i));
    let gs = share_g(row_g(w, i));
    var s = dot_row(&kv, qs);
    if (!isb) { s = masked(s, w, i, jr); }
    let st = stats(w, i); // (lse, Δ)
    let pr = exp(s - st.x);
    let kp = keep(w, i, jr);
    let ds = pr * (dot_row(&vv, gs) * kp - st.y);
    axpy_row(&dva, pr * kp, gs);
    axpy_row(&dka, ds, qs);
  }
  if (j >= nk) { return; }
  let ob = dkv_out(w, j); // (dk, dv)
  for (var c = 0u; c < D4; c++) {
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
