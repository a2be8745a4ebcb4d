// AdamW's per-element rule (torch.optim.AdamW: decoupled weight decay, bias corrections from the step), shared
// by the one-parameter kernel (adamw.wgsl) and the two-parameter one (adamw_multi.wgsl) so both compute the
// same bits. `step` is the already advanced count (flag_count.wgsl).

struct Hyper { beta1: f32, beta2: f32, eps: f32, weight_decay: f32 }
struct Updated { x: f32, m: f32, v: f32 }

// A raised flag (nonzero bits, NaN included) means: leave every value bitwise untouched.
fn flag_raised(bits: f32) -> bool { return (bitcast<u32>(bits) & 0x7fffffffu) != 0u; }

fn adamw_rule(h: Hyper, lr: f32, step: f32, x0: f32, m0: f32, v0: f32, g: f32) -> Updated {
  let x = x0 * (1.0 - lr * h.weight_decay);
  let m = h.beta1 * m0 + (1.0 - h.beta1) * g;
  let v = h.beta2 * v0 + (1.0 - h.beta2) * g * g;
  let bc1 = 1.0 - pow(h.beta1, step);
  let bc2 = 1.0 - pow(h.beta2, step);
  return Updated(x - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + h.eps), m, v);
}
