// Backward of softmax / log-softmax along one axis, one invocation per row, from the saved output y:
//   softmax:     dx = y · (g − Σ g·y)
//   log-softmax: dx = g − exp(y) · Σ g
// The prelude defines T (storage type). LOG selects log-softmax.

override LOG: bool = false;

struct P {
  rows: u32, n: u32, orank: u32, _pad: u32,
  dx_off: u32, dx_step: u32, y_off: u32, y_step: u32, g_off: u32, g_step: u32, _p1: u32, _p2: u32,
  oshape: array<vec4<u32>, 2>, dx_ost: array<vec4<u32>, 2>, y_ost: array<vec4<u32>, 2>, g_ost: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> dx: array<T>;
@group(0) @binding(1) var<storage, read> y: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<uniform> p: P;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  var db = p.dx_off;
  var yb = p.y_off;
  var gb = p.g_off;
  var rem = row;
  for (var d = i32(p.orank) - 1; d >= 0; d--) {
    let s = at(p.oshape, u32(d));
    let c = rem % s;
    rem = rem / s;
    db += c * at(p.dx_ost, u32(d));
    yb += c * at(p.y_ost, u32(d));
    gb += c * at(p.g_ost, u32(d));
  }
  var acc = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let gv = f32(g[gb + j * p.g_step]);
    if (LOG) { acc += gv; } else { acc += gv * f32(y[yb + j * p.y_step]); }
  }
  for (var j = 0u; j < p.n; j++) {
    let gv = f32(g[gb + j * p.g_step]);
    let yv = f32(y[yb + j * p.y_step]);
    if (LOG) { dx[db + j * p.dx_step] = T(gv - exp(yv) * acc); } else { dx[db + j * p.dx_step] = T(yv * (gv - acc)); }
  }
}
