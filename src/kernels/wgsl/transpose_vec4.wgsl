// The aligned entry of the tiled transpose (prepended: transpose.wgsl): a lane moves its 4×4 block as four
// vec4 loads of input runs and four vec4 stores of output rows.

@group(0) @binding(0) var<storage, read_write> out4: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> src4: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = block(wid, lid);
  if (!b.ok || b.r >= p.R || b.c >= p.C) { return; }
  let i = (b.io + b.r + b.c * p.i_cs) / 4u;
  let s = p.i_cs / 4u;
  let v0 = src4[i];
  let v1 = src4[i + s];
  let v2 = src4[i + 2u * s];
  let v3 = src4[i + 3u * s];
  let o = (b.oo + b.r * p.o_rs + b.c) / 4u;
  let t = p.o_rs / 4u;
  out4[o] = vec4<u32>(v0.x, v1.x, v2.x, v3.x);
  out4[o + t] = vec4<u32>(v0.y, v1.y, v2.y, v3.y);
  out4[o + 2u * t] = vec4<u32>(v0.z, v1.z, v2.z, v3.z);
  out4[o + 3u * t] = vec4<u32>(v0.w, v1.w, v2.w, v3.w);
}
