// Softmax / log-softmax along one axis, one invocation per row (rows never share a reduction, so there is
// no barrier; on the software adapter a workgroup runs on one CPU thread and barriers are costly).
// The prelude defines T (storage type of x and y). LOG selects log-softmax.
// Online max/sum in one pass (running max m, running Σ exp(x − m)), then one pass to write.

override LOG: bool = false;

struct P {
  rows: u32, n: u32, orank: u32, _pad: u32,
  x_off: u32, x_step: u32, y_off: u32, y_step: u32,
  oshape: array<vec4<u32>, 2>, x_ost: array<vec4<u32>, 2>, y_ost: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> y: array<T>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<uniform> p: P;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  var xb = p.x_off;
  var yb = p.y_off;
  var rem = row;
  for (var d = i32(p.orank) - 1; d >= 0; d--) {
    let s = at(p.oshape, u32(d));
    let c = rem % s;
    rem = rem / s;
    xb += c * at(p.x_ost, u32(d));
    yb += c * at(p.y_ost, u32(d));
  }
  var m = -3.4028234663852886e38;
  var s = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let v = f32(x[xb + j * p.x_step]);
    let mn = max(m, v);
    s = s * exp(m - mn) + exp(v - mn);
    m = mn;
  }
  let lse = m + log(s);
  let inv = 1.0 / s;
  for (var j = 0u; j < p.n; j++) {
    let v = f32(x[xb + j * p.x_step]);
    if (LOG) { y[yb + j * p.y_step] = T(v - lse); } else { y[yb + j * p.y_step] = T(exp(v - m) * inv); }
  }
}
