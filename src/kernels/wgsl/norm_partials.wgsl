// Pass 1 of the global gradient norm over up to 7 contiguous tensors a dispatch: each workgroup folds one
// CHUNK (4096 elements) of one tensor into one partial; element k·256 + lane goes to lane `lane`, then the
// tree (norm_common.wgsl). Tensor s takes workgroups [first_group, first_group + ceil(n / 4096)) and writes
// its partials from out_index on, so the partials and their order are those of one dispatch per tensor.
// 7 tensors and the partials fill WebGPU's minimum of 8 storage buffers per stage; slots past `count`
// repeat slot 0's buffer (reads may alias) and are never read. The prelude defines T (f32 or f16).

struct Slot { n: u32, offset: u32, out_index: u32, first_group: u32 }
struct P { count: u32, groups: u32, p: f32, kind: u32, slots: array<Slot, 7> }

@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
@group(0) @binding(1) var<storage, read> v0: array<T>;
@group(0) @binding(2) var<storage, read> v1: array<T>;
@group(0) @binding(3) var<storage, read> v2: array<T>;
@group(0) @binding(4) var<storage, read> v3: array<T>;
@group(0) @binding(5) var<storage, read> v4: array<T>;
@group(0) @binding(6) var<storage, read> v5: array<T>;
@group(0) @binding(7) var<storage, read> v6: array<T>;
@group(0) @binding(8) var<uniform> p: P;

fn load(s: u32, i: u32) -> f32 {
  switch s {
    case 0u: { return f32(v0[i]); }
    case 1u: { return f32(v1[i]); }
    case 2u: { return f32(v2[i]); }
    case 3u: { return f32(v3[i]); }
    case 4u: { return f32(v4[i]); }
    case 5u: { return f32(v5[i]); }
    default: { return f32(v6[i]); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let group = wid.x + wid.y * nwg.x;
  // Uniform per workgroup, so the early return leaves no lane waiting at a barrier.
  if (group >= p.groups) { return; }
  var s = 0u;
  for (var k = 1u; k < p.count; k++) {
    if (group >= p.slots[k].first_group) { s = k; }
  }
  let slot = p.slots[s];
  let local = group - slot.first_group;
  let base = local * 4096u;
  var a = 0.0;
  for (var k = 0u; k < 16u; k++) {
    let i = base + k * 256u + lid.x;
    if (i < slot.n) { a = combine(p.kind, a, term(p.kind, load(s, slot.offset + i), p.p)); }
  }
  acc[lid.x] = a;
  reduce_workgroup(p.kind, lid.x);
  if (lid.x == 0u) { partials[slot.out_index + local] = acc[0]; }
}
