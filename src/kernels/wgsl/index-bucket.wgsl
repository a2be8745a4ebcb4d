// Stable counting sort of index lines, the first pass of a deterministic scatter-add. A line is the
// index values along `dim` at fixed other coordinates (lines that share values through stride 0 are
// one line). One invocation per line, sequential over the line, O(len + size):
//   ends[line * size + j]  the exclusive end of bucket j (bucket j starts at ends[.. + j - 1], or 0);
//   perm[line * len + s]   the positions k along dim whose value is j, in increasing k within a bucket.
// Values are clamped to [0, size - 1] as in the gather kernel. The prelude defines I (i32 or u32).

struct P {
  lines: u32, len: u32, size: u32, ioff: u32,
  lrank: u32, istep: u32, _p0: u32, _p1: u32,
  lshape: array<vec4<u32>, 2>, lst: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> ends: array<u32>;
@group(0) @binding(1) var<storage, read_write> perm: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<I>;
@group(0) @binding(3) var<uniform> p: P;

fn clampIndex(v: I, size: u32) -> u32 { return min(select(u32(v), 0u, v < I(0)), size - 1u); }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let line = gid.x + gid.y * nwg.x * 64u;
  if (line >= p.lines) { return; }
  var io = p.ioff;
  var rem = line;
  for (var d = i32(p.lrank) - 1; d >= 0; d--) {
    let du = u32(d);
    let s = p.lshape[du / 4u][du % 4u];
    io += (rem % s) * p.lst[du / 4u][du % 4u];
    rem = rem / s;
  }
  let e = line * p.size;
  let pb = line * p.len;
  for (var j = 0u; j < p.size; j++) { ends[e + j] = 0u; }
  for (var k = 0u; k < p.len; k++) {
    let v = clampIndex(index[io + k * p.istep], p.size);
    ends[e + v] += 1u;
  }
  var run = 0u;
  for (var j = 0u; j < p.size; j++) {
    let c = ends[e + j];
    ends[e + j] = run;
    run += c;
  }
  // Placing in increasing k makes each bucket's order fixed, hence the summation order of the next pass.
  for (var k = 0u; k < p.len; k++) {
    let v = clampIndex(index[io + k * p.istep], p.size);
    let s = ends[e + v];
    perm[pb + s] = k;
    ends[e + v] = s + 1u;
  }
}
