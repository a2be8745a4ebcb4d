// Fused AdamW: one invocation per element updates the parameter and both moments in one pass
// (torch.optim.AdamW's rule, decoupled weight decay, bias correction). The step count, the learning rate
// (when it is a tensor) and the skip flag are read from GPU buffers, so neither a schedule computed on the
// GPU nor a skipped step forces a readback. The step was already advanced by a separate dispatch
// (flag_count.wgsl): here it is only read, so no invocation can see another's increment.
// The prelude defines G (gradient storage type); p, m and v are f32.

struct P {
  n: u32, beta1: f32, beta2: f32, eps: f32,
  weight_decay: f32, maximize: u32, lr: f32, lr_in_buffer: u32,
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
  // A raised flag (nonzero bits, NaN included) leaves every value bitwise untouched.
  if ((bitcast<u32>(found_inf[p.flag_index]) & 0x7fffffffu) != 0u) { return; }
  let lr = select(p.lr, lr_buffer[p.lr_index], p.lr_in_buffer != 0u);
  let step = step_count[p.step_index];
  var g = f32(grad[i]);
  if (p.maximize != 0u) { g = -g; }
  let x = param[i] * (1.0 - lr * p.weight_decay);
  let m = p.beta1 * exp_avg[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * exp_avg_sq[i] + (1.0 - p.beta2) * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let bc1 = 1.0 - pow(p.beta1, step);
  let bc2 = 1.0 - pow(p.beta2, step);
  param[i] = x - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + p.eps);
}
