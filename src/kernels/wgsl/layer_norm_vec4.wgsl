// LayerNorm / RMSNorm forward over contiguous [rows, D] with D a multiple of 4, one invocation per row,
// every load and store a vec4 (layer_norm.wgsl handles other D). Two passes for the statistics instead of
// Welford's one: the mean, then Σ(x − mean)² — as stable for large offsets as Welford, without its division
// per element — then one pass to write; the row is re-read from the CPU's cache on the software adapter.
// The vec4 components are four independent accumulators. Saves mean and 1/σ per row for backward.
// The prelude defines T (storage type of x, y, weight, bias). HAS_W / HAS_B select the affine parts.

override RMS: bool = false;
override HAS_W: bool = true;
override HAS_B: bool = true;

struct P { rows: u32, d: u32, eps: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read_write> y: array<vec4<T>>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>; // [rows, 2]: mean, rstd
@group(0) @binding(2) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> w: array<vec4<T>>;
@group(0) @binding(4) var<storage, read> b: array<vec4<T>>;
@group(0) @binding(5) var<uniform> p: P;

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  let n4 = p.d / 4u;
  let base = row * n4;
  let inv_d = 1.0 / f32(p.d);
  var mean = 0.0;
  if (!RMS) {
    var s4 = vec4<f32>(0.0);
    for (var j = 0u; j < n4; j++) { s4 += vec4<f32>(x[base + j]); }
    mean = hsum(s4) * inv_d;
  }
  var q4 = vec4<f32>(0.0);
  for (var j = 0u; j < n4; j++) {
    let c = vec4<f32>(x[base + j]) - mean;
    q4 += c * c;
  }
  let rstd = inverseSqrt(hsum(q4) * inv_d + p.eps);
  stats[2u * row] = mean;
  stats[2u * row + 1u] = rstd;
  for (var j = 0u; j < n4; j++) {
    var v = (vec4<f32>(x[base + j]) - mean) * rstd;
    if (HAS_W) { v = v * vec4<f32>(w[j]); }
    if (HAS_B) { v = v + vec4<f32>(b[j]); }
    y[base + j] = vec4<T>(v);
  }
}
