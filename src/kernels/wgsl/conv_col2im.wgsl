// col2im (fold), the adjoint of im2col and of Tensor.unfold: one invocation per input element
//   dx[b, c, s0, s1, s2] = Σ g[b, c, o0, o1, o2, k0, k1, k2] over every window that covers s,
// i.e. o·stride + k = s + pad with o inside the output. No float atomics: each element sums its own
// contributions in a fixed order (k0, then k1, then k2 ascending), so results are bit-reproducible.
// g and dx are read and written through strides. The prelude defines T (stored) and C (compute) types.

struct P {
  n: u32, c: u32, goff: u32, doff: u32,
  size: vec4<u32>, outs: vec4<u32>, ks: vec4<u32>, st: vec4<u32>, pad: vec4<u32>,
  os: vec4<u32>, // dx strides per spatial dim
  ob: u32, oc: u32, gb: u32, gc: u32, // dx and g strides of batch and channel
  go: vec4<u32>, // g strides per output position dim
  gk: vec4<u32>, // g strides per kernel offset dim
}

@group(0) @binding(0) var<storage, read_write> dx: array<T>;
@group(0) @binding(1) var<storage, read> g: array<T>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let s2 = i % p.size.z;
  var r = i / p.size.z;
  let s1 = r % p.size.y;
  r = r / p.size.y;
  let s0 = r % p.size.x;
  r = r / p.size.x;
  let c = r % p.c;
  let b = r / p.c;
  let a = vec3<u32>(s0, s1, s2) + p.pad.xyz; // padded coordinates
  let base = p.goff + b * p.gb + c * p.gc;
  var acc = C(0);
  // Window k covers a when (a − k) is a multiple of the stride: start at a mod stride and step by it.
  for (var k0 = a.x % p.st.x; k0 < p.ks.x && k0 <= a.x; k0 += p.st.x) {
    let o0 = (a.x - k0) / p.st.x;
    if (o0 >= p.outs.x) { continue; }
    let g0 = base + o0 * p.go.x + k0 * p.gk.x;
    for (var k1 = a.y % p.st.y; k1 < p.ks.y && k1 <= a.y; k1 += p.st.y) {
      let o1 = (a.y - k1) / p.st.y;
      if (o1 >= p.outs.y) { continue; }
      let g1 = g0 + o1 * p.go.y + k1 * p.gk.y;
      for (var k2 = a.z % p.st.z; k2 < p.ks.z && k2 <= a.z; k2 += p.st.z) {
        let o2 = (a.z - k2) / p.st.z;
        if (o2 >= p.outs.z) { continue; }
        acc += C(g[g1 + o2 * p.go.z + k2 * p.gk.z]);
      }
    }
  }
  dx[p.doff + b * p.ob + c * p.oc + s0 * p.os.x + s1 * p.os.y + s2 * p.os.z] = T(acc);
}
