// The column half of the one-pass InfoNCE forward (after infonce_forward_onepass.wgsl): merges each
// column's per-slot (max, Σexp) partials in slot order into its log-sum-exp, and turns the column target
// v[label_j, j] that the sweep stored into the loss term lse_j − v[label_j, j] (0 for a label outside [0, n)).

override WG: u32 = 64;

struct P { n: u32, slots: u32, has_labels: u32, gx: u32 }

@group(0) @binding(0) var<storage, read_write> stats: array<f32>;  // [4n], see the forward
@group(0) @binding(1) var<storage, read> colp: array<vec2<f32>>;   // [slots, n]
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<uniform> p: P;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = (wid.x + wid.y * p.gx) * WG + lid;
  if (j >= p.n) { return; }
  var m = colp[j].x;
  for (var s = 1u; s < p.slots; s++) { m = max(m, colp[s * p.n + j].x); }
  var e = 0.0;
  for (var s = 0u; s < p.slots; s++) {
    let q = colp[s * p.n + j];
    e += q.y * exp(q.x - m);
  }
  let lse = m + log(e);
  var lab = j;
  if (p.has_labels != 0u) { lab = u32(labels[j]); }
  stats[p.n + j] = lse;
  stats[3u * p.n + j] = lse - select(0.0, stats[3u * p.n + j], lab < p.n);
}
