// LayerNorm / RMSNorm backward for weight and bias: one invocation per column j sums over all rows in
// order (deterministic, no atomics):  dw[j] = Σ_rows g·x̂,  db[j] = Σ_rows g. Workgroups of 8 columns (one
// vector of 8 lanes on a CPU), so even a 64-wide model gives 8 workgroups and keeps every core busy; the
// order of each column's sum does not depend on the workgroup size. The prelude defines T.

struct P { rows: u32, d: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> dw: array<T>;
@group(0) @binding(1) var<storage, read_write> db: array<T>;
@group(0) @binding(2) var<storage, read> x: array<T>;
@group(0) @binding(3) var<storage, read> g: array<T>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<uniform> p: P;

@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 8u;
  if (j >= p.d) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let gv = f32(g[r * p.d + j]);
    let xh = (f32(x[r * p.d + j]) - stats[2u * r]) * stats[2u * r + 1u];
    sw += gv * xh;
    sb += gv;
  }
  dw[j] = T(sw);
  db[j] = T(sb);
}
