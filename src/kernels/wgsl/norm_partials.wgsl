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

// This lane's fold of one chunk (elements at, at + 256, … < end), one function per binding: WGSL cannot
// index bindings, and choosing the binding once per workgroup keeps a switch out of the element loop.
fn term_at(x: f32) -> f32 { return term(p.kind, x, p.p); }
fn fold0(at: u32, end: u32) -> f32 { var a = 0.0; for (var i = at; i < end; i += 256u) { a = combine(p.kind, a, term_at(f32(v0[i]))); } return a; }
fn fold1(at: u32, end: u32) -> f32 { var a = 0.0; for (var i = at; i < end; i += 256u) { a = combine(p.kind, a, term_at(f32(v1[i]))); } return a; }
fn fold2(at: u32, end: u32) -> f32 { var a = 0.0; for (var i = at; i < end; i += 256u) { a = combine(p.kind, a, term_at(f32(v2[i]))); } return a; }
fn fold3(at: u32, end: u32) -> f32 { var a = 0.0; for (var i = at; i < end; i += 256u) { a = combine(p.kind, a, term_at(f32(v3[i]))); } return a; }
fn fold4(at: u32, end: u32) -> f32 { var a = 0.0; for (var i = at; i < end; i += 256u) { a = combine(p.kind, a, term_at(f32(v4[i]))); } return a; }
fn fold5(at: u32, end: u32) -> f32 { var a = 0.0; for (var i = at; i < end; i += 256u) { a = combine(p.kind, a, term_at(f32(v5[i]))); } return a; }
fn fold6(at: u32, end: u32) -> f32 { var a = 0.0; for (var i = at; i < end; i += 256u) { a = combine(p.kind, a, term_at(f32(v6[i]))); } return a; }

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
  // Elements [at, end) of the binding, 256 apart: this lane's share of the chunk, in the order of k.
  let at = slot.offset + local * 4096u + lid.x;
  let end = slot.offset + min(slot.n, (local + 1u) * 4096u);
  var a = 0.0;
  switch s {
    case 0u: { a = fold0(at, end); }
    case 1u: { a = fold1(at, end); }
    case 2u: { a = fold2(at, end); }
    case 3u: { a = fold3(at, end); }
    case 4u: { a = fold4(at, end); }
    case 5u: { a = fold5(at, end); }
    default: { a = fold6(at, end); }
  }
  acc[lid.x] = a;
  reduce_workgroup(p.kind, lid.x);
  if (lid.x == 0u) { partials[slot.out_index + local] = acc[0]; }
}
