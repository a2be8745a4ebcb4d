// Forward of the softmax-InfoNCE (CLIP) loss, one side, for CPU adapters (needs subgroups of ≥ 8 lanes
// dividing WG; the launcher enables them): infonce_forward.wgsl with the columns of Y shared the way
// matmul_subgroup.wgsl shares its B operand — per vec4 step of the embedding, lane l of every 8 loads
// column j0 + l's vec4 and every lane takes all 8 by subgroupBroadcast, so a lane loads TM + 1 vec4s for
// 8·TM dot products (llvmpipe gathers every storage load per lane, even at a uniform address). Columns
// are still visited 8 at a time in order with an online max/sum: the result does not depend on the schedule.
// stats layout [4n]: lse of side 0 | lse of side 1 | loss terms of side 0 | loss terms of side 1.

override WG: u32 = 64;  // invocations per workgroup, a multiple of the subgroup size
override TM: u32 = 4;   // rows of X per invocation (strided by WG), ≤ 4
const TN = 8u;          // columns of Y per step: one per lane of an 8-lane group

struct P { n: u32, d4: u32, side: u32, has_labels: u32, gx: u32 }

@group(0) @binding(0) var<storage, read_write> stats: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> labels: array<i32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<uniform> p: P;

const NEG = -3.4028234663852886e38;

// The 8 vec4s that lanes 0..7 hold in `mine`, in every lane.
fn share(mine: vec4<f32>) -> array<vec4<f32>, 8> {
  return array<vec4<f32>, 8>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u),
                             subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u));
}

fn label_of(r: u32) -> u32 {
  if (p.has_labels == 0u) { return r; }
  return u32(labels[r]);  // a negative label wraps past n: no column matches it
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let lane = sl % 8u;
  let m0 = (wid.x + wid.y * p.gx) * WG * TM;
  if (m0 >= p.n) { return; }
  let s = scale[0];
  var xrow: array<u32, 4>;
  var lab: array<u32, 4>;
  var mx: array<f32, 4>;
  var sm: array<f32, 4>;
  var tgt: array<f32, 4>;
  for (var t = 0u; t < TM; t++) {
    let r = min(m0 + lid + t * WG, p.n - 1u);  // rows past n compute a duplicate that is never stored
    xrow[t] = r * p.d4;
    lab[t] = label_of(r);
    mx[t] = NEG;
    sm[t] = 0.0;
    tgt[t] = 0.0;
  }
  for (var j0 = 0u; j0 < p.n; j0 += TN) {
    // acc[t·TN + c] = ⟨X_row(t), Y_(j0+c)⟩, each (t, c) one independent chain of 4-wide FMAs
    var acc: array<f32, 32>;
    // zeroed explicitly: on lavapipe a `var` declared in a loop kept the previous trip's values
    for (var q = 0u; q < TM * TN; q++) { acc[q] = 0.0; }
    let yrow = min(j0 + lane, p.n - 1u) * p.d4;
    for (var k4 = 0u; k4 < p.d4; k4++) {
      let yb = share(vec4<f32>(y[yrow + k4]));
      for (var t = 0u; t < TM; t++) {
        let xv = vec4<f32>(x[xrow[t] + k4]);
        for (var c = 0u; c < TN; c++) { acc[t * TN + c] += dot(xv, yb[c]); }
      }
    }
    for (var t = 0u; t < TM; t++) {
      var cm = NEG;
      for (var c = 0u; c < TN; c++) {
        if (j0 + c < p.n) { cm = max(cm, s * acc[t * TN + c]); }
      }
      let m = max(mx[t], cm);
      var e = sm[t] * exp(mx[t] - m);
      for (var c = 0u; c < TN; c++) {
        let j = j0 + c;
        let v = s * acc[t * TN + c];
        if (j < p.n) { e += exp(v - m); }
        if (j == lab[t]) { tgt[t] = v; }
      }
      mx[t] = m;
      sm[t] = e;
    }
  }
  for (var t = 0u; t < TM; t++) {
    let r = m0 + lid + t * WG;
    if (r < p.n) {
      let lse = mx[t] + log(sm[t]);
      stats[p.side * p.n + r] = lse;
      stats[(2u + p.side) * p.n + r] = lse - tgt[t];
    }
  }
}
