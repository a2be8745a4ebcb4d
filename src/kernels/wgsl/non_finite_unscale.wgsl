// torch's _amp_foreach_non_finite_check_and_unscale_ for one tensor: (CHECK) raises the f32 flag (to 1.0)
// when an element is NaN or ±inf, and (UNSCALE) multiplies every element by the f32 inv_scale read from a
// buffer — with CHECK off, the scaling step of clip_grad_norm_, whose coefficient is computed on the GPU.
// The flag is written with an atomic store of one fixed value, so invocations that all find a non-finite
// element never race; nothing reads it in this dispatch. The prelude defines G (storage type, f32 or f16).

override CHECK: bool = true;
override UNSCALE: bool = true;

struct P { n: u32, offset: u32, inv_index: u32, flag_index: u32 }

@group(0) @binding(0) var<storage, read_write> values: array<G>;
@group(0) @binding(1) var<storage, read_write> found_inf: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> inv_scale: array<f32>;
@group(0) @binding(3) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let v = f32(values[p.offset + i]);
  // Exponent all ones: inf or NaN (tested on the bits, which fast-math cannot fold away).
  if (CHECK && (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) { atomicStore(&found_inf[p.flag_index], 0x3f800000u); }
  if (UNSCALE) { values[p.offset + i] = G(v * inv_scale[p.inv_index]); }
}
