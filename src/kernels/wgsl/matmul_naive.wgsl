// Reference matmul: one invocation per output element, strided batched operands. Used to check the tuned
// kernel and as the fallback for shapes the tuned kernel does not take.

struct P {
  M: u32, N: u32, K: u32, batch: u32,
  a_off: u32, a_rs: u32, a_cs: u32, brank: u32,
  b_off: u32, b_rs: u32, b_cs: u32, o_off: u32,
  bshape: vec4<u32>, a_bs: vec4<u32>, b_bs: vec4<u32>,
}

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<uniform> p: P;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let row = gid.y;
  let bz = gid.z;
  if (row >= p.M || col >= p.N || bz >= p.batch) { return; }
  var ao = p.a_off;
  var bo = p.b_off;
  var rem = bz;
  for (var d = i32(p.brank) - 1; d >= 0; d--) {
    let s = p.bshape[d];
    let c = rem % s;
    rem = rem / s;
    ao += c * p.a_bs[d];
    bo += c * p.b_bs[d];
  }
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    acc = fma(f32(a[ao + row * p.a_rs + k * p.a_cs]), f32(b[bo + k * p.b_rs + col * p.b_cs]), acc);
  }
  out[p.o_off + (bz * p.M + row) * p.N + col] = O(acc);
}
