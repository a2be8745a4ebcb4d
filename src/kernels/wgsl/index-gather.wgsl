// Gather along one dimension: out[p] = x[p with p[dim] replaced by index[p]], one invocation per output
// element (out is contiguous, shaped like the index grid). Serves gather and indexSelect, whose index is
// read with stride 0 over the other dimensions. A kernel cannot throw, so an out-of-range index value is
// clamped to [0, size - 1] rather than read outside x. The prelude defines T (the stored element type)
// and I (the index type, i32 or u32). xoff is the offset of index value `lo` in x's binding.

struct P {
  n: u32, rank: u32, dim: u32, size: u32,
  xoff: u32, ioff: u32, lo: u32, hi: u32, // [lo, hi): the index values x's binding window holds
  shape: array<vec4<u32>, 2>, xst: array<vec4<u32>, 2>, ist: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> out: array<T>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> index: array<I>;
@group(0) @binding(3) var<uniform> p: P;

fn clampIndex(v: I, size: u32) -> u32 { return min(select(u32(v), 0u, v < I(0)), size - 1u); }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  var rem = i;
  var xo = p.xoff;
  var io = p.ioff;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let s = p.shape[du / 4u][du % 4u];
    var c = rem; // the outermost coordinate needs no division
    if (d > 0) {
      c = rem % s;
      rem = rem / s;
    }
    io += c * p.ist[du / 4u][du % 4u];
    if (du != p.dim) { xo += c * p.xst[du / 4u][du % 4u]; }
  }
  let j = clampIndex(index[io], p.size);
  // A table past one binding is bound in windows of whole index values along dim, one dispatch each.
  if (j < p.lo || j >= p.hi) { return; }
  out[i] = x[xo + (j - p.lo) * p.xst[p.dim / 4u][p.dim % 4u]];
}
