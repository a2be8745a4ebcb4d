// Softmax / log-softmax over contiguous rows whose length is a multiple of 4, one invocation per row, every
// load and store a vec4 (the launcher picks this path when x and y are unit-stride rows at offsets that are
// multiples of 4; softmax.wgsl handles everything else). Not online: one pass for the max, one for Σ exp,
// one to write — two exps per element instead of the online update's three, and the re-read row (4 KiB at
// d = 1024) comes from the CPU's cache on the software adapter. The vec4 components are four independent
// accumulators. The prelude defines T (storage type of x and y). LOG selects log-softmax.

override LOG: bool = false;

struct P { rows: u32, n4: u32, x_off4: u32, y_off4: u32 }

@group(0) @binding(0) var<storage, read_write> y: array<vec4<T>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  let xb = p.x_off4 + row * p.n4;
  let yb = p.y_off4 + row * p.n4;
  // two vec4s per trip (8 independent accumulators); an odd count of vec4s leaves one for the first trip
  let odd = p.n4 & 1u;
  var ma = vec4<f32>(-3.4028234663852886e38);
  var mb = ma;
  if (odd == 1u) { ma = vec4<f32>(x[xb]); }
  for (var j = odd; j < p.n4; j += 2u) {
    ma = max(ma, vec4<f32>(x[xb + j]));
    mb = max(mb, vec4<f32>(x[xb + j + 1u]));
  }
  let m4 = max(ma, mb);
  let m = max(max(m4.x, m4.y), max(m4.z, m4.w));
  var sa = vec4<f32>(0.0);
  var sb = vec4<f32>(0.0);
  if (odd == 1u) { sa = exp(vec4<f32>(x[xb]) - m); }
  for (var j = odd; j < p.n4; j += 2u) {
    sa += exp(vec4<f32>(x[xb + j]) - m);
    sb += exp(vec4<f32>(x[xb + j + 1u]) - m);
  }
  let s4 = sa + sb;
  let s = (s4.x + s4.y) + (s4.z + s4.w);
  if (LOG) {
    let lse = m + log(s);
    for (var j = 0u; j < p.n4; j++) { y[yb + j] = vec4<T>(vec4<f32>(x[xb + j]) - lse); }
  } else {
    let inv = 1.0 / s;
    for (var j = 0u; j < p.n4; j++) { y[yb + j] = vec4<T>(exp(vec4<f32>(x[xb + j]) - m) * inv); }
  }
}
