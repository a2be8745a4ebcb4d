// LayerNorm / RMSNorm backward for the input, one invocation per row, from the saved mean and 1/σ:
//   x̂ = (x − μ)·r,  ĝ = g·w,  dx = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂))      (RMSNorm: no mean(ĝ) term)
// The prelude defines T. HAS_W selects the affine weight.

override RMS: bool = false;
override HAS_W: bool = true;

struct P { rows: u32, d: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> dx: array<T>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read> w: array<T>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  let base = row * p.d;
  let mean = stats[2u * row];
  let rstd = stats[2u * row + 1u];
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = 0u; j < p.d; j++) {
    var gh = f32(g[base + j]);
    if (HAS_W) { gh = gh * f32(w[j]); }
    let xh = (f32(x[base + j]) - mean) * rstd;
    sg += gh;
    sgx += gh * xh;
  }
  let inv = 1.0 / f32(p.d);
  var mg = sg * inv;
  if (RMS) { mg = 0.0; }
  let mgx = sgx * inv;
  for (var j = 0u; j < p.d; j++) {
    var gh = f32(g[base + j]);
    if (HAS_W) { gh = gh * f32(w[j]); }
    let xh = (f32(x[base + j]) - mean) * rstd;
    dx[base + j] = T(rstd * (gh - mg - xh * mgx));
  }
}
