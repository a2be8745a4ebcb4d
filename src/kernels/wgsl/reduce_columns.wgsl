// Column sums: the sum reduction of reduce.wgsl for rows that are 4 adjacent, unit-stride columns (the
// gradient of a broadcast bias: [R, C] summed over R). One invocation sums 4 columns a vec4 at a time,
// with reduce.wgsl's order per column — four interleaved partial sums over j mod 4, combined as
// (a0 + a1) + (a2 + a3), then the tail — so both kernels give bit-identical results. Outputs [rows, parts]
// as reduce.wgsl. Offsets and the inner step are in elements and multiples of 4. The prelude defines T,
// O and C (f32).

struct P {
  rows: u32, inner: u32, chunk: u32, parts: u32,
  offset: u32, step: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<storage, read> src: array<vec4<T>>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = gid.x + gid.y * nwg.x * 8u;
  let groups = p.rows / 4u;
  if (id >= groups * p.parts) { return; }
  let g = id / p.parts;
  let part = id % p.parts;
  let base = p.offset / 4u + g;
  let step = p.step / 4u;
  let start = part * p.chunk;
  let end = min(start + p.chunk, p.inner);
  var a0 = vec4<C>(); var a1 = vec4<C>(); var a2 = vec4<C>(); var a3 = vec4<C>();
  var j = start;
  for (; j + 4u <= end; j += 4u) {
    let o = base + j * step;
    a0 += vec4<C>(src[o]);
    a1 += vec4<C>(src[o + step]);
    a2 += vec4<C>(src[o + 2u * step]);
    a3 += vec4<C>(src[o + 3u * step]);
  }
  var acc = (a0 + a1) + (a2 + a3);
  for (; j < end; j++) { acc += vec4<C>(src[base + j * step]); }
  for (var c = 0u; c < 4u; c++) { out[(4u * g + c) * p.parts + part] = O(acc[c]); }
}
