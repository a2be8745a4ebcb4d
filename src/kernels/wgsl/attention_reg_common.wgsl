// Shared by the register-resident attention kernels for CPU adapters (attention_*_reg.wgsl; prepended after
// attention_common.wgsl, subgroups enabled): the head dim as a compile-time count of vec4s, D4, so every
// loop over a row has a constant trip count, unrolls, and the per-row arrays are indexed by constants
// (llvmpipe keeps runtime-indexed private arrays in memory and gathers from them). A key/value row is
// loaded once per 8 lanes — lane l of each 8 loads vec4s l, l + 8, l + 16, l + 24 — and every lane takes
// the rest by subgroupBroadcast (whose lane must be a constant, hence the hand-unrolled blocks of 8).

override D4: u32 = 16u; // vec4s per row held in registers: the head dim rounded up to a multiple of 16, / 4 (≤ 32)

var<private> lane: u32; // subgroup_invocation_id % 8, set by main

alias Share = array<vec4<f32>, 4>; // this lane's vec4s of one row: element b is vec4 8b + lane

fn dot8(a: ptr<private, Row>, c: u32, mine: vec4<f32>, r0: vec4<f32>) -> vec4<f32> {
  var r = fma((*a)[c], subgroupBroadcast(mine, 0u), r0);
  r = fma((*a)[c + 1u], subgroupBroadcast(mine, 1u), r);
  r = fma((*a)[c + 2u], subgroupBroadcast(mine, 2u), r);
  r = fma((*a)[c + 3u], subgroupBroadcast(mine, 3u), r);
  if (c + 4u >= D4) { return r; } // a half block (D4 % 8 = 4): a constant test once D4 is known
  r = fma((*a)[c + 4u], subgroupBroadcast(mine, 4u), r);
  r = fma((*a)[c + 5u], subgroupBroadcast(mine, 5u), r);
  r = fma((*a)[c + 6u], subgroupBroadcast(mine, 6u), r);
  return fma((*a)[c + 7u], subgroupBroadcast(mine, 7u), r);
}

fn axpy8(a: ptr<private, Row>, c: u32, s: f32, mine: vec4<f32>) {
  let w = vec4<f32>(s);
  (*a)[c] = fma(w, subgroupBroadcast(mine, 0u), (*a)[c]);
  (*a)[c + 1u] = fma(w, subgroupBroadcast(mine, 1u), (*a)[c + 1u]);
  (*a)[c + 2u] = fma(w, subgroupBroadcast(mine, 2u), (*a)[c + 2u]);
  (*a)[c + 3u] = fma(w, subgroupBroadcast(mine, 3u), (*a)[c + 3u]);
  if (c + 4u >= D4) { return; }
  (*a)[c + 4u] = fma(w, subgroupBroadcast(mine, 4u), (*a)[c + 4u]);
  (*a)[c + 5u] = fma(w, subgroupBroadcast(mine, 5u), (*a)[c + 5u]);
  (*a)[c + 6u] = fma(w, subgroupBroadcast(mine, 6u), (*a)[c + 6u]);
  (*a)[c + 7u] = fma(w, subgroupBroadcast(mine, 7u), (*a)[c + 7u]);
}

// ⟨a, row⟩ where `sh` is this lane's share of the row.
fn dot_row(a: ptr<private, Row>, sh: Share) -> f32 {
  var r = vec4<f32>(0.0);
  for (var b = 0u; b < (D4 + 7u) / 8u; b++) { r = dot8(a, 8u * b, sh[b], r); }
  return hsum(r);
}

// a += s·row.
fn axpy_row(a: ptr<private, Row>, s: f32, sh: Share) {
  for (var b = 0u; b < (D4 + 7u) / 8u; b++) { axpy8(a, 8u * b, s, sh[b]); }
}

fn share_k(base: u32) -> Share {
  var r: Share;
  for (var b = 0u; b < (D4 + 7u) / 8u; b++) { r[b] = ld_k(base, 8u * b + lane); }
  return r;
}
fn share_v(base: u32) -> Share {
  var r: Share;
  for (var b = 0u; b < (D4 + 7u) / 8u; b++) { r[b] = ld_v(base, 8u * b + lane); }
  return r;
}
fn share_bias(base: u32) -> Share {
  var r: Share;
  for (var b = 0u; b < (D4 + 7u) / 8u; b++) { r[b] = ld_bias(base, 8u * b + lane); }
  return r;
}
fn share_q(base: u32) -> Share {
  var r: Share;
  for (var b = 0u; b < (D4 + 7u) / 8u; b++) { r[b] = ld_q(base, 8u * b + lane); }
  return r;
}
