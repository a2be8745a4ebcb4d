// Adds one to up to 7 GPU counters when a skip flag is clear (the per-parameter steps of an optimizer,
// 7 parameters a dispatch) or when it is raised (the count of skipped steps). One invocation per counter:
// each counter is read and written by its invocation alone, so kernels that read it (the fused AdamW
// update) run in a later dispatch and never race with it. 7 counters and the flag fill WebGPU's minimum of
// 8 storage buffers per stage; slots past `count` are bound to spare buffers and left alone.

override WHEN_RAISED: bool = false;

struct P { flag: u32, count: u32, _p0: u32, _p1: u32, offsets: array<vec4<u32>, 2> }

@group(0) @binding(0) var<storage, read> flag: array<f32>;
@group(0) @binding(1) var<storage, read_write> c0: array<f32>;
@group(0) @binding(2) var<storage, read_write> c1: array<f32>;
@group(0) @binding(3) var<storage, read_write> c2: array<f32>;
@group(0) @binding(4) var<storage, read_write> c3: array<f32>;
@group(0) @binding(5) var<storage, read_write> c4: array<f32>;
@group(0) @binding(6) var<storage, read_write> c5: array<f32>;
@group(0) @binding(7) var<storage, read_write> c6: array<f32>;
@group(0) @binding(8) var<uniform> p: P;

@compute @workgroup_size(8)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let s = lid.x;
  if (s >= p.count) { return; }
  // Nonzero on the bits (NaN counts as raised; -0 does not), robust to fast-math folding of NaN compares.
  let raised = (bitcast<u32>(flag[p.flag]) & 0x7fffffffu) != 0u;
  if (raised != WHEN_RAISED) { return; }
  let o = p.offsets[s / 4u][s % 4u];
  switch s {
    case 0u: { c0[o] += 1.0; }
    case 1u: { c1[o] += 1.0; }
    case 2u: { c2[o] += 1.0; }
    case 3u: { c3[o] += 1.0; }
    case 4u: { c4[o] += 1.0; }
    case 5u: { c5[o] += 1.0; }
    default: { c6[o] += 1.0; }
  }
}
