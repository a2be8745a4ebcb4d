// Register-blocked matmul C[i, j] = Σ_k X[i, k]·Y[k, j] for one batch element per workgroup row of tiles.
// The rows of C are spread over the invocations of a workgroup; its TN columns are shared by the whole
// workgroup, so every load of Y has a workgroup-uniform address (one scalar load, broadcast to all lanes)
// and each invocation loads only its own rows of X. The launcher maps (A, B) or (Bᵀ, Aᵀ) onto (X, Y).
// Entry points: `main_vec4` reads X as vec4 along k (k-stride 1, aligned), `main_scalar` reads any strides.
// Prepended: matmul_common.wgsl (the uniform block P and tile()); appended: a store, emit().

override WG: u32 = 64;  // invocations per workgroup, all along the rows of C
override TM: u32 = 1;   // rows of C per invocation (strided by WG so neighbouring lanes read neighbouring rows)
override TN: u32 = 8;   // columns of C per workgroup and invocation: a multiple of 4, TM·TN ≤ 16

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> x4: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> y: array<T>;
@group(0) @binding(4) var<uniform> p: P;
// Used only by matmul_epilogue.wgsl's emit() (bound after the uniform when it is appended).
@group(0) @binding(5) var<storage, read> ep_bias: array<T>;
@group(0) @binding(6) var<storage, read> ep_res: array<O>;
@group(0) @binding(7) var<storage, read_write> ep_pre: array<O>;

// Element index of Y's column c in this tile (clamped to the last column: edge tiles compute duplicates
// that are never stored, so the inner loop has no branches).
fn ycol(t: Tile, c: u32) -> u32 {
  return t.yo + min(t.n0 + c, p.N - 1u) * p.y_cs;
}

fn yrow4(yr: u32, t: Tile, c: u32) -> vec4<f32> {
  return vec4<f32>(f32(y[yr + ycol(t, c)]), f32(y[yr + ycol(t, c + 1u)]), f32(y[yr + ycol(t, c + 2u)]), f32(y[yr + ycol(t, c + 3u)]));
}

fn store(t: Tile, lid: u32, acc: array<vec4<f32>, 4>) {
  for (var r = 0u; r < TM; r++) {
    let i = t.m0 + lid + r * WG;
    if (i >= p.M) { continue; }
    for (var c = 0u; c < TN; c++) {
      let j = t.n0 + c;
      if (j < p.N) { emit(t.oo + i * p.o_rs + j * p.o_cs, i, j, acc[r * (TN / 4u) + c / 4u][c % 4u]); }
    }
  }
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid);
  if (!t.ok) { return; }
  var xrow: array<u32, 4>;
  for (var r = 0u; r < TM; r++) {
    xrow[r] = (t.xo + min(t.m0 + lid + r * WG, p.M - 1u) * p.x_rs) / 4u;
  }
  var acc: array<vec4<f32>, 4>;
  let K4 = p.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    var xv: array<vec4<f32>, 4>;
    for (var r = 0u; r < TM; r++) { xv[r] = vec4<f32>(x4[xrow[r] + k4]); }
    for (var kk = 0u; kk < 4u; kk++) {
      let yr = (k4 * 4u + kk) * p.y_rs;
      for (var c = 0u; c < TN / 4u; c++) {
        let yv = yrow4(yr, t, c * 4u);
        for (var r = 0u; r < TM; r++) {
          acc[r * (TN / 4u) + c] = fma(vec4<f32>(xv[r][kk]), yv, acc[r * (TN / 4u) + c]);
        }
      }
    }
  }
  store(t, lid, acc);
}

@compute @workgroup_size(WG)
fn main_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid);
  if (!t.ok) { return; }
  var xrow: array<u32, 4>;
  for (var r = 0u; r < TM; r++) {
    xrow[r] = t.xo + min(t.m0 + lid + r * WG, p.M - 1u) * p.x_rs;
  }
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let yr = k * p.y_rs;
    for (var c = 0u; c < TN / 4u; c++) {
      let yv = yrow4(yr, t, c * 4u);
      for (var r = 0u; r < TM; r++) {
        acc[r * (TN / 4u) + c] = fma(vec4<f32>(f32(x[xrow[r] + k * p.x_cs])), yv, acc[r * (TN / 4u) + c]);
      }
    }
  }
  store(t, lid, acc);
}
