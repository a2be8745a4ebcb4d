// Backward of the softmax-InfoNCE loss, one side, for CPU adapters (needs subgroups of ≥ 8 lanes dividing
// WG; the launcher enables them): infonce_backward.wgsl — dX_r = s·Σ_c G[r, c]·Y_c with the logits
// recomputed 8 columns at a time from the saved log-sum-exps, columns added in order (deterministic, no
// atomics, no barriers), plus the partials Σ_c G[r, c]·⟨X_r, Y_c⟩ of dL/ds — with each column block of Y
// loaded once per 8 lanes and shared by subgroupBroadcast, for the logits and again for dX.
//   G[r, c] = g/(2n)·(exp(v − lseX_r) + exp(v − lseY_c) − [c = label_r] − [r = label_c]).

override WG: u32 = 64;  // invocations per workgroup, a multiple of the subgroup size
override TM: u32 = 4;   // rows of X per invocation (strided by WG), ≤ 4
const TN = 8u;          // columns of Y per step: one per lane of an 8-lane group

struct P { n: u32, d4: u32, side: u32, has_labels: u32, gx: u32, coef: f32 }

@group(0) @binding(0) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> y: array<vec4<T>>;
@group(0) @binding(4) var<storage, read> labels: array<i32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<storage, read> grad: array<f32>;
@group(0) @binding(7) var<storage, read> stats: array<f32>;  // the forward's [4n] stats (lse of both sides first)
@group(0) @binding(8) var<uniform> p: P;

// The 8 vec4s that lanes 0..7 hold in `mine`, in every lane.
fn share(mine: vec4<f32>) -> array<vec4<f32>, 8> {
  return array<vec4<f32>, 8>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u),
                             subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u));
}

fn label_of(r: u32) -> u32 {
  if (p.has_labels == 0u) { return r; }
  return u32(labels[r]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let lane = sl % 8u;
  let m0 = (wid.x + wid.y * p.gx) * WG * TM;
  if (m0 >= p.n) { return; }
  let s = scale[0];
  let gc = grad[0] * p.coef;  // g/(2n)
  let lse_x = p.side * p.n;
  let lse_y = (1u - p.side) * p.n;
  var row: array<u32, 4>;
  var ok: array<bool, 4>;
  var lab: array<u32, 4>;
  var lx: array<f32, 4>;
  var dsp: array<f32, 4>;
  for (var t = 0u; t < TM; t++) {
    let r = m0 + lid + t * WG;
    ok[t] = r < p.n;
    row[t] = min(r, p.n - 1u);
    lab[t] = label_of(row[t]);
    lx[t] = stats[lse_x + row[t]];
    dsp[t] = 0.0;
    if (ok[t]) {
      for (var k4 = 0u; k4 < p.d4; k4++) { dx[row[t] * p.d4 + k4] = vec4<f32>(0.0); }
    }
  }
  for (var j0 = 0u; j0 < p.n; j0 += TN) {
    var acc: array<f32, 32>;
    // zeroed explicitly: on lavapipe a `var` declared in a loop kept the previous trip's values
    for (var q = 0u; q < TM * TN; q++) { acc[q] = 0.0; }
    let yrow = min(j0 + lane, p.n - 1u) * p.d4;
    for (var k4 = 0u; k4 < p.d4; k4++) {
      let yb = share(vec4<f32>(y[yrow + k4]));
      for (var t = 0u; t < TM; t++) {
        let xv = vec4<f32>(x[row[t] * p.d4 + k4]);
        for (var c = 0u; c < TN; c++) { acc[t * TN + c] += dot(xv, yb[c]); }
      }
    }
    // acc becomes s·G[r, c], the weight of Y_c in dX_r (0 for columns past n)
    for (var c = 0u; c < TN; c++) {
      let j = j0 + c;
      let jc = min(j, p.n - 1u);
      let ly = stats[lse_y + jc];
      let labj = label_of(jc);
      for (var t = 0u; t < TM; t++) {
        let v = s * acc[t * TN + c];
        let hits = select(0.0, 1.0, j == lab[t]) + select(0.0, 1.0, row[t] == labj);
        let g = select(0.0, gc * (exp(v - lx[t]) + exp(v - ly) - hits), j < p.n);
        dsp[t] += g * acc[t * TN + c];
        acc[t * TN + c] = s * g;
      }
    }
    for (var k4 = 0u; k4 < p.d4; k4++) {
      let yb = share(vec4<f32>(y[yrow + k4]));
      for (var t = 0u; t < TM; t++) {
        var d = dx[row[t] * p.d4 + k4];
        for (var c = 0u; c < TN; c++) { d = fma(vec4<f32>(acc[t * TN + c]), yb[c], d); }
        // rows past n alias row n − 1, whose owner alone writes it
        if (ok[t]) { dx[row[t] * p.d4 + k4] = d; }
      }
    }
  }
  for (var t = 0u; t < TM; t++) {
    if (ok[t]) { part[p.side * p.n + row[t]] = dsp[t]; }
  }
}
