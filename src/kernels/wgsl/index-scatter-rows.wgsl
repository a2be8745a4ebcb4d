// Deterministic scatter-add of whole rows (dim 0 of a [size, C] output, one index line shared by every
// column: the gradient of an embedding lookup), one invocation per 4 columns of an output row:
//   out[j, c..c+3] = base[j, c..c+3] + Σ src[k, c..c+3] over the positions k of bucket j, k ascending.
// The bucket comes from the counting sort in index-bucket.wgsl; the order per element is the one
// index-scatter.wgsl uses, so both kernels give bit-identical results. Rows are contiguous and 4-aligned
// (the launcher checks); offsets and row strides are in vec4 units. The prelude defines T and C.

struct P {
  size: u32, c4: u32, soff: u32, srs: u32,
  xoff: u32, xrs: u32, base: u32, _p: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<vec4<T>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> src: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> ends: array<u32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;
@group(0) @binding(5) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.size * p.c4) { return; }
  let j = i / p.c4;
  let c = i % p.c4;
  var acc = vec4<C>();
  if (p.base != 0u) { acc = vec4<C>(x[p.xoff + j * p.xrs + c]); }
  var b0 = 0u;
  if (j > 0u) { b0 = ends[j - 1u]; }
  let b1 = ends[j];
  for (var s = b0; s < b1; s++) {
    acc += vec4<C>(src[p.soff + perm[s] * p.srs + c]);
  }
  out[i] = vec4<T>(acc);
}
