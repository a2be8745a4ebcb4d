// Shared by the register-blocked matmul kernels (matmul_tiled.wgsl, matmul_subgroup.wgsl; prepended after
// the prelude): the uniform block and the workgroup → output tile mapping. Each kernel declares the
// overrides WG, TM and TN and the uniform p, and ends with a store (matmul_store.wgsl or matmul_epilogue.wgsl).

struct P {
  M: u32, N: u32, K: u32, brank: u32,
  x_off: u32, x_rs: u32, x_cs: u32, tiles_n: u32,
  y_off: u32, y_rs: u32, y_cs: u32, tiles_m: u32,
  o_rs: u32, o_cs: u32, gx: u32, batch: u32,
  bshape: vec4<u32>, x_bs: vec4<u32>, y_bs: vec4<u32>,
  ep: vec4<u32>,  // matmul_epilogue.wgsl's bias offset and strides, residual offset (zero for the plain store)
}

struct Tile { ok: bool, m0: u32, n0: u32, xo: u32, yo: u32, oo: u32 }

// Workgroups are numbered linearly (the launcher folds large grids over x and y); column tiles vary
// fastest so consecutive workgroups reuse the same rows of X from cache.
fn tile(wid: vec3<u32>) -> Tile {
  var t: Tile;
  let lin = wid.x + wid.y * p.gx;
  let tn = lin % p.tiles_n;
  let rest = lin / p.tiles_n;
  let tm = rest % p.tiles_m;
  let bz = rest / p.tiles_m;
  t.ok = bz < p.batch;
  t.m0 = tm * WG * TM;
  t.n0 = tn * TN;
  t.xo = p.x_off;
  t.yo = p.y_off;
  var rem = bz;
  for (var d = i32(p.brank) - 1; d >= 0; d--) {
    let s = p.bshape[d];
    let c = rem % s;
    rem = rem / s;
    t.xo += c * p.x_bs[d];
    t.yo += c * p.y_bs[d];
  }
  t.oo = bz * p.M * p.N;
  return t;
}
