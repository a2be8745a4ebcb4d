// The any-layout entry of the tiled transpose (prepended: transpose.wgsl): a lane moves its 4×4 block one
// word at a time, skipping the part past R or C.

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = block(wid, lid);
  if (!b.ok) { return; }
  for (var q = 0u; q < 4u; q++) {
    let c = b.c + q;
    if (c >= p.C) { break; }
    for (var j = 0u; j < 4u; j++) {
      let r = b.r + j;
      if (r < p.R) { out[b.oo + r * p.o_rs + c] = src[b.io + r + c * p.i_cs]; }
    }
  }
}
