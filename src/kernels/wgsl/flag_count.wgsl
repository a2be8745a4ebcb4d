// Adds one to a GPU counter when a skip flag is clear (an optimizer's per-parameter step) or when it is
// raised (the count of skipped steps). One invocation: the counter is read and written by this dispatch
// alone, so kernels that read it (the fused AdamW update) run in a later dispatch and never race with it.

override WHEN_RAISED: bool = false;

struct P { counter: u32, flag: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> counter: array<f32>;
@group(0) @binding(1) var<storage, read> flag: array<f32>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(1)
fn main() {
  // Nonzero on the bits (NaN counts as raised; -0 does not), robust to fast-math folding of NaN compares.
  let raised = (bitcast<u32>(flag[p.flag]) & 0x7fffffffu) != 0u;
  if (raised == WHEN_RAISED) { counter[p.counter] += 1.0; }
}
