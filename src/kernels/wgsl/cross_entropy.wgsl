// Cross-entropy with class-index targets over contiguous logits [N, C], one invocation per row:
//   loss_i = lse_i − (1 − ε)·x[i, t_i] − (ε / C)·Σ_j x[i, j]      (0 where t_i = ignore_index)
// with lse by an online max/sum. Saves lse per row for backward. The prelude defines T (logits type).

struct P { n: u32, c: u32, ignore: i32, smoothing: f32 }

@group(0) @binding(0) var<storage, read_write> loss: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse_out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<T>;
@group(0) @binding(3) var<storage, read> labels: array<i32>;
@group(0) @binding(4) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let base = i * p.c;
  var m = -3.4028234663852886e38;
  var s = 0.0;
  var total = 0.0;
  for (var j = 0u; j < p.c; j++) {
    let v = f32(x[base + j]);
    let mn = max(m, v);
    s = s * exp(m - mn) + exp(v - mn);
    m = mn;
    total += v;
  }
  let lse = m + log(s);
  lse_out[i] = lse;
  let t = labels[i];
  if (t == p.ignore || t < 0 || u32(t) >= p.c) {
    loss[i] = 0.0;
    return;
  }
  let eps = p.smoothing;
  loss[i] = lse - (1.0 - eps) * f32(x[base + u32(t)]) - eps / f32(p.c) * total;
}
