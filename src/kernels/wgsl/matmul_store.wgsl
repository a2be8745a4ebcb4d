// The plain store of the register-blocked matmul kernels (matmul_subgroup.wgsl, matmul_tiled.wgsl): C's
// element as accumulated. Appended to a kernel; matmul_epilogue.wgsl is the fused alternative (Linear).

fn emit(oi: u32, i: u32, j: u32, v: f32) {
  out[oi] = O(v);
}
