// Backward of cross-entropy with class-index targets, one invocation per element of logits [N, C]:
//   dx[i, j] = g_i · (exp(x[i, j] − lse_i) − (1 − ε)·[j = t_i] − ε / C)      (0 where t_i = ignore_index)
// The prelude defines T (logits type).

struct P { n: u32, c: u32, ignore: i32, smoothing: f32 }

@group(0) @binding(0) var<storage, read_write> dx: array<T>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * 256u;
  if (k >= p.n * p.c) { return; }
  let i = k / p.c;
  let j = k % p.c;
  let t = labels[i];
  if (t == p.ignore || t < 0 || u32(t) >= p.c) {
    dx[k] = T(0.0);
    return;
  }
  let onehot = select(0.0, 1.0 - p.smoothing, u32(t) == j);
  dx[k] = T(g[i] * (exp(f32(x[k]) - lse[i]) - onehot - p.smoothing / f32(p.c)));
}
