// Fused AdamW for one parameter: one invocation per element updates the parameter and both moments in one
// pass (adamw_rule.wgsl). The step count, the learning rate (when it is a tensor) and the skip flag are read
// from GPU buffers, so neither a schedule computed on the GPU nor a skipped step forces a readback. The
// step was already advanced by a separate dispatch (flag_count.wgsl): here it is only read, so no
// invocation can see another's increment. Used where a device binds too few storage buffers for
// adamw_multi.wgsl. The prelude defines G (gradient storage type); p, m and v are f32.

struct P {
  h: Hyper,
  n: u32, maximize: u32, lr: f32, lr_in_buffer: u32,
  lr_index: u32, step_index: u32, flag_index: u32, _p0: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(2) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<G>;
@group(0) @binding(4) var<storage, read> step_count: array<f32>;
@group(0) @binding(5) var<storage, read> lr_buffer: array<f32>;
@group(0) @binding(6) var<storage, read> found_inf: array<f32>;
@group(0) @binding(7) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  if (flag_raised(found_inf[p.flag_index])) { return; }
  let lr = select(p.lr, lr_buffer[p.lr_index], p.lr_in_buffer != 0u);
  var g = f32(grad[i]);
  if (p.maximize != 0u) { g = -g; }
  let u = adamw_rule(p.h, lr, step_count[p.step_index], param[i], exp_avg[i], exp_avg_sq[i], g);
  exp_avg[i] = u.m;
  exp_avg_sq[i] = u.v;
  param[i] = u.x;
}
