// Memory ceiling (bench only, not a Kiln kernel): one vec4<f32> read and written per invocation, a plain
// streaming copy between two storage buffers.

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < arrayLength(&dst)) {
    dst[i] = src[i];
  }
}
