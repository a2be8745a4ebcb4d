// Attention backward, dk and dv, for CPU adapters (prepended: philox, attention_common,
// attention_grad_common, attention_reg_common): attention_dkdv.wgsl's order of summation — one key row
// per invocation (row Lk the bias-kv token), queries in order, deterministic — with k, v and both
// accumulators in constant-indexed private arrays and each q/dO row loaded once per 8 lanes and shared by
// subgroupBroadcast. Output layout: dk [B·H·Lk·p.dh] ‖ dv [B·H·Lk·p.dh] ‖ (dbk, dbv) [B·H·2·p.dh].
//   P = exp(s − lse), P̃ = P·keep, dv = Σ_i P̃ dO_i, dS = P·((dO_i·v)·keep − Δ_i), dk = scale · Σ_i dS q_i

@group(0) @binding(0) var<storage, read_write> dkv: array<T>;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read> g: array<T>;
@group(0) @binding(5) var<storage, read> ld: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read> bias: array<T>;
@group(0) @binding(8) var<uniform> p: P;

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
  let wid = wid3.x + wid3.y * nwg.x;
  let bh = wid / p.tiles;
  if (bh >= p.B * p.H) { return; }
  let b = bh / p.H;
  let h = bh % p.H;
  let j0 = (wid % p.tiles) * WG;
  let nk = p.Lk + p.nb;
  let j = j0 + lid;
  let jr = min(j, nk - 1u);
  let isb = jr == p.Lk; // the bias-kv token
  let kb = row_k(b, h, jr);
  let vb = row_v(b, h, jr);
  for (var c = 0u; c < D4; c++) {
    if (isb) {
      kv[c] = ld_bias(h * p.dh, c) * p.scale;
      vv[c] = ld_bias((p.H + h) * p.dh, c);
    } else {
      kv[c] = ld_k(kb, c) * p.scale;
      vv[c] = ld_v(vb, c);
    }
    dka[c] = vec4<f32>(0.0);
    dva[c] = vec4<f32>(0.0);
  }
  // Causal: queries before the tile's first key see none of its keys (unless the tile holds the bias token).
  var istart = 0u;
  if ((p.causal != 0u) && j0 + WG <= p.Lk) { istart = min(j0, p.Lq); }
  for (var i = istart; i < p.Lq; i++) {
    let qs = share_q(row_q(b, h, i));
    let gs = share_g(row_g(b, h, i));
    var s = dot_row(&kv, qs);
    if (!isb) { s = masked(s, b, h, i, jr); }
    let r = 2u * (bh * p.Lq + i);
    let pr = exp(s - ld[r]);
    let kp = keep(bh, i, jr);
    let ds = pr * (dot_row(&vv, gs) * kp - ld[r + 1u]);
    axpy_row(&dva, pr * kp, gs);
    axpy_row(&dka, ds, qs);
  }
  if (j >= nk) { return; }
  let n = p.B * p.H * p.Lk * p.dh;
  var kb_out = (bh * p.Lk + j) * p.dh;
  var vb_out = n + kb_out;
  if (isb) {
    kb_out = 2u * n + 2u * bh * p.dh;
    vb_out = kb_out + p.dh;
  }
  for (var c = 0u; c < D4; c++) {
    let dk = dka[c] * p.scale;
    let dv = dva[c];
    for (var e = 0u; e < 4u; e++) {
      if (4u * c + e < p.dh) {
        dkv[kb_out + 4u * c + e] = T(dk[e]);
        dkv[vb_out + 4u * c + e] = T(dv[e]);
      }
    }
  }
}
