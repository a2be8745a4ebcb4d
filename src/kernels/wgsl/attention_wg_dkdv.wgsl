// Attention backward, dk and dv, with query and dO tiles in workgroup memory (for GPUs): one key row per
// invocation, its k and v in registers; the workgroup copies BK query rows and their dO rows together, then
// each invocation runs attention_dkdv.wgsl's per-query update on them, queries in order — the same bits,
// deterministic, no atomics. Row Lk of each (batch, head) is the bias-kv token when there is one.
//   P = exp(s − lse), P̃ = P·keep, dv = Σ_i P̃ dO_i, dS = P·((dO_i·v)·keep − Δ_i), dk = scale · Σ_i dS q_i
// Tiles: ta (query rows), tb (dO rows) of attention_wg_common.wgsl.

@group(0) @binding(0) var<storage, read_write> dkv: array<T>; // bindings 1–8: attention_grad_common.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = tile(wid3, nwg);
  if (w.bh >= p.B * p.H) { return; } // uniform
  let nk = p.Lk + p.nb;
  let j = w.r0 + lid;
  let jr = min(j, nk - 1u);
  let isb = jr == p.Lk; // the bias-kv token
  var kv: Row;
  var vv: Row;
  var dka: Row;
  var dva: Row;
  dkdv_start(w, jr, &kv, &vv, &dka, &dva);
  for (var i0 = query_start(w.r0); i0 < p.Lq; i0 += BK) {
    let n = min(BK, p.Lq - i0);
    for (var e = lid; e < n * p.d4; e += WG) {
      let t = e / p.d4;
      let c = e % p.d4;
      ta[t * TILE_ROW + c] = ld_q(row_q(w, i0 + t), c);
      tb[t * TILE_ROW + c] = ld_g(row_g(w, i0 + t), c);
    }
    workgroupBarrier();
    for (var t = 0u; t < n; t++) {
      let i = i0 + t;
      var dot = vec4<f32>(0.0);
      var dpv = vec4<f32>(0.0);
      for (var c = 0u; c < p.d4; c++) {
        dot = fma(ta[t * TILE_ROW + c], kv[c], dot);
        dpv = fma(tb[t * TILE_ROW + c], vv[c], dpv);
      }
      var s = hsum(dot);
      if (!isb) { s = masked(s, w, i, jr); }
      let st = stats(w, i); // (lse, Δ)
      let pr = exp(s - st.x);
      let kp = keep(w, i, jr);
      let ds = pr * (hsum(dpv) * kp - st.y);
      let pt = pr * kp;
      for (var c = 0u; c < p.d4; c++) {
        dva[c] = fma(vec4<f32>(pt), tb[t * TILE_ROW + c], dva[c]);
        dka[c] = fma(vec4<f32>(ds), ta[t * TILE_ROW + c], dka[c]);
      }
    }
    workgroupBarrier();
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
