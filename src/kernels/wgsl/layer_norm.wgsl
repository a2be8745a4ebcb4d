// LayerNorm / RMSNorm forward over the last D elements of each row of a contiguous [rows, D] input, one
// invocation per row (no barriers). Mean and variance by Welford's update (stable for large offsets);
// saves mean and 1/σ per row for backward. RMS skips the mean (RMSNorm: x / √(mean(x²) + ε)).
// The prelude defines T (storage type of x, y, weight, bias). HAS_W / HAS_B select the affine parts.

override RMS: bool = false;
override HAS_W: bool = true;
override HAS_B: bool = true;

struct P { rows: u32, d: u32, eps: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read_write> y: array<T>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>; // [rows, 2]: mean, rstd
@group(0) @binding(2) var<storage, read> x: array<T>;
@group(0) @binding(3) var<storage, read> w: array<T>;
@group(0) @binding(4) var<storage, read> b: array<T>;
@group(0) @binding(5) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  let base = row * p.d;
  var mean = 0.0;
  var m2 = 0.0;
  for (var j = 0u; j < p.d; j++) {
    let v = f32(x[base + j]);
    if (RMS) {
      m2 += v * v;
    } else {
      let delta = v - mean;
      mean += delta / f32(j + 1u);
      m2 += delta * (v - mean);
    }
  }
  let rstd = inverseSqrt(m2 / f32(p.d) + p.eps);
  stats[2u * row] = mean;
  stats[2u * row + 1u] = rstd;
  for (var j = 0u; j < p.d; j++) {
    var v = (f32(x[base + j]) - mean) * rstd;
    if (HAS_W) { v = v * f32(w[j]); }
    if (HAS_B) { v = v + f32(b[j]); }
    y[base + j] = T(v);
  }
}
