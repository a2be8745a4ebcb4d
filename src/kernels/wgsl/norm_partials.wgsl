// Pass 1 of the global gradient norm: each workgroup folds one CHUNK (4096 elements) of one contiguous
// tensor into one partial; element k·256 + lane goes to lane `lane`, then the tree (norm_common.wgsl).
// The prelude defines T (storage type, f32 or f16).

struct P { n: u32, offset: u32, out_index: u32, groups: u32, p: f32, kind: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> values: array<T>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let group = wid.x + wid.y * nwg.x;
  if (group >= p.groups) { return; }
  let base = group * 4096u;
  var a = 0.0;
  for (var k = 0u; k < 16u; k++) {
    let i = base + k * 256u + lid.x;
    if (i < p.n) { a = combine(p.kind, a, term(p.kind, f32(values[p.offset + i]), p.p)); }
  }
  acc[lid.x] = a;
  reduce_workgroup(p.kind, lid.x);
  if (lid.x == 0u) { partials[p.out_index + group] = acc[0]; }
}
