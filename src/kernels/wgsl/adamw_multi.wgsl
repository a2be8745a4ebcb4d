// Fused AdamW for two parameters of one group in one dispatch (the multi-tensor update of torch's
// foreach/fused AdamW): workgroups [0, groups0) update parameter 0, the rest parameter 1, each element by
// adamw_rule.wgsl as adamw.wgsl does. Two slots of five storage buffers (parameter, moments, gradient,
// step) plus the flag and the learning rate are 12 bindings; WGSL cannot index bindings, so a dispatch
// binds a fixed number. A lone parameter leaves slot 1 on spare buffers with n1 = 0.
// The prelude defines G (gradient storage type, the same in both slots); p, m and v are f32.

struct P {
  h: Hyper,
  maximize: u32, lr: f32, lr_in_buffer: u32, lr_index: u32,
  flag_index: u32, groups0: u32, n0: u32, n1: u32,
  step0: u32, step1: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> found_inf: array<f32>;
@group(0) @binding(1) var<storage, read> lr_buffer: array<f32>;
@group(0) @binding(2) var<storage, read_write> param0: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg0: array<f32>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq0: array<f32>;
@group(0) @binding(5) var<storage, read> grad0: array<G>;
@group(0) @binding(6) var<storage, read> step_count0: array<f32>;
@group(0) @binding(7) var<storage, read_write> param1: array<f32>;
@group(0) @binding(8) var<storage, read_write> exp_avg1: array<f32>;
@group(0) @binding(9) var<storage, read_write> exp_avg_sq1: array<f32>;
@group(0) @binding(10) var<storage, read> grad1: array<G>;
@group(0) @binding(11) var<storage, read> step_count1: array<f32>;
@group(0) @binding(12) var<uniform> p: P;

fn gradient(g: f32) -> f32 { return select(g, -g, p.maximize != 0u); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (flag_raised(found_inf[p.flag_index])) { return; }
  let lr = select(p.lr, lr_buffer[p.lr_index], p.lr_in_buffer != 0u);
  let wg = wid.x + wid.y * nwg.x;
  if (wg < p.groups0) {
    let i = wg * 256u + lid.x;
    if (i >= p.n0) { return; }
    let u = adamw_rule(p.h, lr, step_count0[p.step0], param0[i], exp_avg0[i], exp_avg_sq0[i], gradient(f32(grad0[i])));
    exp_avg0[i] = u.m;
    exp_avg_sq0[i] = u.v;
    param0[i] = u.x;
  } else {
    let i = (wg - p.groups0) * 256u + lid.x;
    if (i >= p.n1) { return; }
    let u = adamw_rule(p.h, lr, step_count1[p.step1], param1[i], exp_avg1[i], exp_avg_sq1[i], gradient(f32(grad1[i])));
    exp_avg1[i] = u.m;
    exp_avg_sq1[i] = u.v;
    param1[i] = u.x;
  }
}
