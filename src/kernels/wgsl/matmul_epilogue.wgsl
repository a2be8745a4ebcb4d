// Linear's epilogue for the register-blocked matmul kernels, applied to the f32 accumulator before the
// store: pre = C + bias, out = act(pre) + residual, and pre itself stored when backward needs it (gelu').
// The kernel declares the bindings ep_bias (T), ep_res (O) and ep_pre (O) after its uniform; p.ep holds
// (bias offset, bias stride along the kernel's rows i, along its columns j, residual offset). Appended
// to a kernel instead of matmul_store.wgsl, with math.wgsl (kiln_gelu, kiln_sigmoid).

override HAS_BIAS: bool = false;
override ACT: u32 = 0u;          // 0 none, 1 gelu (erf, as F.gelu), 2 quick-gelu x·σ(1.702x)
override HAS_RES: bool = false;  // residual of out's shape and layout, read at out's index
override SAVE_PRE: bool = false;

fn emit(oi: u32, i: u32, j: u32, v: f32) {
  var pre = v;
  if (HAS_BIAS) { pre += f32(ep_bias[p.ep.x + i * p.ep.y + j * p.ep.z]); }
  if (SAVE_PRE) { ep_pre[oi] = O(pre); }
  var y = pre;
  if (ACT == 1u) {
    y = kiln_gelu(pre);
  } else if (ACT == 2u) {
    y = pre * kiln_sigmoid(pre * 1.702);
  }
  if (HAS_RES) { y += f32(ep_res[p.ep.w + oi]); }
  out[oi] = O(y);
}
