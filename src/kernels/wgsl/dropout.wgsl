// Dropout and DropPath: out = keep ? in·scale : 0, where keep = (u ≥ p) for the uniform u of draw i / GROUP
// from Philox (philox.wgsl is prepended). GROUP = 1 is dropout; GROUP = elements per sample is DropPath.
// The mask is never stored: backward runs this same kernel on the gradient with the same seed and offset.
// The prelude defines T.

struct P { n: u32, group: u32, key0: u32, key1: u32, off0: u32, off1: u32, p: f32, scale: f32 }

@group(0) @binding(0) var<storage, read_write> out: array<T>;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let d = i / p.group;
  let r = philox_block(p.off0, p.off1, d / 4u, vec2<u32>(p.key0, p.key1));
  let keep = unit(r[d % 4u]) >= p.p;
  out[i] = select(T(0.0), T(f32(src[i]) * p.scale), keep);
}
