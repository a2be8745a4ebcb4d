// Deterministic scatter-add along one dimension, one invocation per output element (out is contiguous):
//   out[c] = base[c] + Σ src[c with c[dim] = k] over k ascending with index[c with c[dim] = k] == c[dim],
// for c inside the index grid (other coordinates beyond the index's extent receive nothing). WGSL has no
// float atomics, and a race would change the summation order, so each output sums its own contributions
// in increasing k. BUCKETED = false scans all `len` positions of the line (O(len) per output; short
// lines); true reads the line's bucket from the counting sort in index-bucket.wgsl (O(bucket) per
// output). Both orders are the same, so both give bit-identical results. The prelude defines T (stored
// type), C (compute type) and I (index type).

override BUCKETED: bool = false;

struct P {
  n: u32, rank: u32, dim: u32, len: u32,
  size: u32, xoff: u32, soff: u32, ioff: u32,
  base: u32, first: u32, count: u32, _p2: u32, // [first, first + count): this dispatch's outputs (out is bound from `first`)
  shape: array<vec4<u32>, 2>, xst: array<vec4<u32>, 2>, sst: array<vec4<u32>, 2>,
  ist: array<vec4<u32>, 2>, ext: array<vec4<u32>, 2>, lst: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> out: array<T>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> src: array<T>;
@group(0) @binding(3) var<storage, read> index: array<I>;
@group(0) @binding(4) var<storage, read> ends: array<u32>;
@group(0) @binding(5) var<storage, read> perm: array<u32>;
@group(0) @binding(6) var<uniform> p: P;

fn clampIndex(v: I, size: u32) -> u32 { return min(select(u32(v), 0u, v < I(0)), size - 1u); }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let local = gid.x + gid.y * nwg.x * 256u;
  if (local >= p.count) { return; }
  let i = p.first + local;
  var rem = i;
  var xo = p.xoff;
  var so = p.soff;
  var io = p.ioff;
  var line = 0u;
  var j = 0u;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let s = p.shape[du / 4u][du % 4u];
    var c = rem; // the outermost coordinate needs no division
    if (d > 0) {
      c = rem % s;
      rem = rem / s;
    }
    xo += c * p.xst[du / 4u][du % 4u];
    if (du == p.dim) {
      j = c;
    } else {
      inside = inside && c < p.ext[du / 4u][du % 4u];
      so += c * p.sst[du / 4u][du % 4u];
      io += c * p.ist[du / 4u][du % 4u];
      line += c * p.lst[du / 4u][du % 4u];
    }
  }
  var acc = C(0);
  if (p.base != 0u) { acc = C(x[xo]); }
  if (inside) {
    let sstep = p.sst[p.dim / 4u][p.dim % 4u];
    if (BUCKETED) {
      let e = line * p.size + j;
      var b0 = 0u;
      if (j > 0u) { b0 = ends[e - 1u]; }
      let b1 = ends[e];
      for (var s = b0; s < b1; s++) {
        acc += C(src[so + perm[line * p.len + s] * sstep]);
      }
    } else {
      let istep = p.ist[p.dim / 4u][p.dim % 4u];
      for (var k = 0u; k < p.len; k++) {
        if (clampIndex(index[io + k * istep], p.size) == j) { acc += C(src[so + k * sstep]); }
      }
    }
  }
  out[local] = T(acc);
}
