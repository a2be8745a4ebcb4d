// im2col for convolution over up to three spatial dims (unused ones have size 1):
//   cols[b, o0, o1, o2, c, k0, k1, k2] = x[b, c, o·stride + k − pad]   (0 inside the padding),
// written contiguous, so the launcher reads it as [B·L, C·K] and multiplies by the weight. One invocation
// per column element; x is read through its strides. Not a convolution by itself. The prelude defines T.

struct P {
  n: u32, ck: u32, l: u32, k: u32, // elements, C·K, output positions L, K0·K1·K2
  xoff: u32, xb: u32, xc: u32, _pad0: u32,
  size: vec4<u32>, // input extent per spatial dim
  outs: vec4<u32>, // output extent per spatial dim
  ks: vec4<u32>, // kernel extent per spatial dim
  st: vec4<u32>,
  pad: vec4<u32>,
  xs: vec4<u32>, // x strides per spatial dim
}

@group(0) @binding(0) var<storage, read_write> cols: array<T>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let q = i % p.ck;
  let r = i / p.ck;
  var kr = q % p.k;
  var lr = r % p.l;
  var off = p.xoff + (r / p.l) * p.xb + (q / p.k) * p.xc;
  var inside = true;
  for (var d = 2; d >= 0; d--) {
    let kd = kr % p.ks[d];
    kr = kr / p.ks[d];
    let od = lr % p.outs[d];
    lr = lr / p.outs[d];
    let pos = od * p.st[d] + kd; // in padded coordinates
    inside = inside && pos >= p.pad[d] && pos < p.pad[d] + p.size[d];
    off += (pos - p.pad[d]) * p.xs[d]; // wraps outside the input, where it is never read
  }
  var v = T(0);
  if (inside) { v = x[off]; }
  cols[i] = v;
}
