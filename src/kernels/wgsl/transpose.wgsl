// Copy of a transposed view: out[b, r, c] = in[b, c, r], i.e. the input is read at io + r + c·i_cs (unit
// stride along the output's rows). Built for llvmpipe, where every storage load is a per-lane gather and
// a barrier switches SIMD chunks: no workgroup memory and no barrier, the transpose is done in registers.
// A workgroup of 64 lanes owns a 32×32 tile of the output as 8×8 blocks of 4×4; a lane reads its block as
// 4 vec4 runs of the input (4 output rows each) and writes 4 vec4 rows. Neighbouring lanes read
// neighbouring 16-byte runs of the same input rows, so the tile's cache lines are used whole inside the
// workgroup (the strided elementwise copy used 4 bytes of a line per output element). Words are copied as
// u32 bits, so the copy is exact for every 4-byte dtype. transpose_vec4.wgsl needs R, C, the offsets and
// strides multiples of 4; transpose_scalar.wgsl reads any layout with per-element bounds. Each is this file
// followed by its bindings and entry point `main`.

struct P {
  R: u32, C: u32, batch: u32, tiles_c: u32,
  io: u32, i_cs: u32, i_bs: u32, tiles_r: u32,
  oo: u32, o_rs: u32, o_bs: u32, gx: u32,
}

struct Block { ok: bool, r: u32, c: u32, io: u32, oo: u32 }

// Tiles are numbered linearly (the launcher folds large grids over x and y); along the input's rows first.
fn block(wid: vec3<u32>, lid: u32) -> Block {
  var b: Block;
  let lin = wid.x + wid.y * p.gx;
  let tr = lin % p.tiles_r;
  let rest = lin / p.tiles_r;
  let tc = rest % p.tiles_c;
  let z = rest / p.tiles_c;
  b.ok = z < p.batch;
  b.r = tr * 32u + (lid % 8u) * 4u;
  b.c = tc * 32u + (lid / 8u) * 4u;
  b.io = p.io + z * p.i_bs;
  b.oo = p.oo + z * p.o_bs;
  return b;
}
