// Register-blocked matmul C[i, j] = Σ_k X[i, k]·Y[k, j] that shares Y through subgroup broadcasts.
// Each invocation owns TM rows of C and all TN columns of its workgroup's tile. Per step of 4 k, the first
// 8 lanes of each subgroup load the 4×TN block of Y once between them (TN/2 values each) and every lane
// takes the values it needs with subgroupBroadcast, so a lane loads TM·4 + TN/2 elements for 4·TM·TN FMAs.
// Built for CPU adapters (llvmpipe), where every storage load inside a loop is a per-lane gather even when
// its address is uniform. Needs subgroups of at least 8 invocations (any multiple of 8 works: lanes ≥ 8
// repeat the loads of lane % 8). `main_vec4` reads X and Y as vec4 (both contiguous in their fast axis,
// aligned, K % 4 = 0); `main_scalar` reads any strides and ends with one zero-padded block for K % 4.
// Prepended: matmul_common.wgsl (the uniform block P and tile()); appended: a store, emit().

override WG: u32 = 64;  // invocations per workgroup, all along the rows of C; a multiple of the subgroup size
override TM: u32 = 2;   // rows of C per invocation (strided by WG so neighbouring lanes read neighbouring rows)
override TN: u32 = 8;   // columns of C per workgroup: 8, 16 or 32 (TM·TN ≤ 64)

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> y: array<T>;
@group(0) @binding(3) var<storage, read> x4: array<vec4<T>>;  // the same buffers as x and y, read as vec4
@group(0) @binding(4) var<storage, read> y4: array<vec4<T>>;
@group(0) @binding(5) var<uniform> p: P;
// Used only by matmul_epilogue.wgsl's emit() (bound after the uniform when it is appended).
@group(0) @binding(6) var<storage, read> ep_bias: array<T>;
@group(0) @binding(7) var<storage, read> ep_res: array<O>;
@group(0) @binding(8) var<storage, read_write> ep_pre: array<O>;

const MAXTM = 4u;
var<private> acc: array<array<vec4<f32>, 8>, MAXTM>;  // [row][column group of 4]: TM·TN ≤ 64 are used
var<private> xv: array<vec4<f32>, MAXTM>;             // X[row, k..k+3]

// One k of the 4-step block: Y's row as TN/4 column groups (only the first TN/4 of g are used).
fn row(kk: u32, g: array<vec4<f32>, 8>) {
  for (var r = 0u; r < TM; r++) {
    let a = vec4<f32>(xv[r][kk]);
    for (var c = 0u; c < TN / 4u; c++) { acc[r][c] = fma(a, g[c], acc[r][c]); }
  }
}

// Row kk of the block lives in lanes 2kk (columns 0..TN/2) and 2kk+1 (the rest), TN/8 vec4s each (y0..y3).
fn block(y0: vec4<f32>, y1: vec4<f32>, y2: vec4<f32>, y3: vec4<f32>) {
  let z = vec4<f32>();
  if (TN == 8u) {
    row(0u, array(subgroupBroadcast(y0, 0u), subgroupBroadcast(y0, 1u), z, z, z, z, z, z));
    row(1u, array(subgroupBroadcast(y0, 2u), subgroupBroadcast(y0, 3u), z, z, z, z, z, z));
    row(2u, array(subgroupBroadcast(y0, 4u), subgroupBroadcast(y0, 5u), z, z, z, z, z, z));
    row(3u, array(subgroupBroadcast(y0, 6u), subgroupBroadcast(y0, 7u), z, z, z, z, z, z));
  } else if (TN == 16u) {
    row(0u, array(subgroupBroadcast(y0, 0u), subgroupBroadcast(y1, 0u), subgroupBroadcast(y0, 1u), subgroupBroadcast(y1, 1u), z, z, z, z));
    row(1u, array(subgroupBroadcast(y0, 2u), subgroupBroadcast(y1, 2u), subgroupBroadcast(y0, 3u), subgroupBroadcast(y1, 3u), z, z, z, z));
    row(2u, array(subgroupBroadcast(y0, 4u), subgroupBroadcast(y1, 4u), subgroupBroadcast(y0, 5u), subgroupBroadcast(y1, 5u), z, z, z, z));
    row(3u, array(subgroupBroadcast(y0, 6u), subgroupBroadcast(y1, 6u), subgroupBroadcast(y0, 7u), subgroupBroadcast(y1, 7u), z, z, z, z));
  } else {
    row(0u, array(subgroupBroadcast(y0, 0u), subgroupBroadcast(y1, 0u), subgroupBroadcast(y2, 0u), subgroupBroadcast(y3, 0u),
                  subgroupBroadcast(y0, 1u), subgroupBroadcast(y1, 1u), subgroupBroadcast(y2, 1u), subgroupBroadcast(y3, 1u)));
    row(1u, array(subgroupBroadcast(y0, 2u), subgroupBroadcast(y1, 2u), subgroupBroadcast(y2, 2u), subgroupBroadcast(y3, 2u),
                  subgroupBroadcast(y0, 3u), subgroupBroadcast(y1, 3u), subgroupBroadcast(y2, 3u), subgroupBroadcast(y3, 3u)));
    row(2u, array(subgroupBroadcast(y0, 4u), subgroupBroadcast(y1, 4u), subgroupBroadcast(y2, 4u), subgroupBroadcast(y3, 4u),
                  subgroupBroadcast(y0, 5u), subgroupBroadcast(y1, 5u), subgroupBroadcast(y2, 5u), subgroupBroadcast(y3, 5u)));
    row(3u, array(subgroupBroadcast(y0, 6u), subgroupBroadcast(y1, 6u), subgroupBroadcast(y2, 6u), subgroupBroadcast(y3, 6u),
                  subgroupBroadcast(y0, 7u), subgroupBroadcast(y1, 7u), subgroupBroadcast(y2, 7u), subgroupBroadcast(y3, 7u)));
  }
}

fn store(t: Tile, lid: u32) {
  for (var r = 0u; r < TM; r++) {
    let i = t.m0 + lid + r * WG;
    if (i >= p.M) { continue; }
    for (var c = 0u; c < TN; c++) {
      let j = t.n0 + c;
      if (j < p.N) { emit(t.oo + i * p.o_rs + j * p.o_cs, i, j, acc[r][c / 4u][c % 4u]); }
    }
  }
}

@compute @workgroup_size(WG)
fn main_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let t = tile(wid);
  if (!t.ok) { return; }
  var xrow: array<u32, MAXTM>;
  for (var r = 0u; r < TM; r++) {
    xrow[r] = t.xo + min(t.m0 + lid + r * WG, p.M - 1u) * p.x_rs;
  }
  // This lane's share of each 4×TN block of Y: row kk = lane / 2, columns half·TN/2 + (0..TN/2).
  let l = sl % 8u;
  let ykk = l / 2u;
  var ycol: array<u32, 16>;
  for (var q = 0u; q < TN / 2u; q++) {
    ycol[q] = t.yo + min(t.n0 + (l % 2u) * (TN / 2u) + q, p.N - 1u) * p.y_cs;
  }
  var yv: array<vec4<f32>, 4>;
  let K4 = p.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    let k = k4 * 4u;
    for (var r = 0u; r < TM; r++) {
      let xi = xrow[r] + k * p.x_cs;
      xv[r] = vec4<f32>(f32(x[xi]), f32(x[xi + p.x_cs]), f32(x[xi + 2u * p.x_cs]), f32(x[xi + 3u * p.x_cs]));
    }
    let yr = (k + ykk) * p.y_rs;
    for (var q = 0u; q < TN / 8u; q++) {
      yv[q] = vec4<f32>(f32(y[yr + ycol[4u * q]]), f32(y[yr + ycol[4u * q + 1u]]), f32(y[yr + ycol[4u * q + 2u]]), f32(y[yr + ycol[4u * q + 3u]]));
    }
    block(yv[0], yv[1], yv[2], yv[3]);
  }
  // The last K % 4 steps: the block's missing rows of X and Y read as zeros.
  let k = K4 * 4u;
  if (k < p.K) {
    for (var r = 0u; r < TM; r++) {
      for (var kk = 0u; kk < 4u; kk++) {
        xv[r][kk] = select(0.0, f32(x[xrow[r] + min(k + kk, p.K - 1u) * p.x_cs]), k + kk < p.K);
      }
    }
    let yr = min(k + ykk, p.K - 1u) * p.y_rs;
    for (var q = 0u; q < TN / 8u; q++) {
      yv[q] = vec4<f32>(f32(y[yr + ycol[4u * q]]), f32(y[yr + ycol[4u * q + 1u]]), f32(y[yr + ycol[4u * q + 2u]]), f32(y[yr + ycol[4u * q + 3u]]));
      if (k + ykk >= p.K) { yv[q] = vec4<f32>(); }
    }
    block(yv[0], yv[1], yv[2], yv[3]);
  }
  store(t, lid);
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
             @builtin(subgroup_invocation_id) sl: u32) {
  let t = tile(wid);
  if (!t.ok) { return; }
  var xrow: array<u32, MAXTM>;
  for (var r = 0u; r < TM; r++) {
    xrow[r] = (t.xo + min(t.m0 + lid + r * WG, p.M - 1u) * p.x_rs) / 4u;
  }
  let l = sl % 8u;
  let ykk = l / 2u;
  // Columns past N read the last whole vec4 again (N % 4 = 0 here); they are never stored.
  var yc: array<u32, 4>;
  for (var q = 0u; q < TN / 8u; q++) { yc[q] = t.yo + min(t.n0 + (l % 2u) * (TN / 2u) + 4u * q, p.N - 4u); }
  var yv: array<vec4<f32>, 4>;
  let K4 = p.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    for (var r = 0u; r < TM; r++) { xv[r] = vec4<f32>(x4[xrow[r] + k4]); }
    let yr = (k4 * 4u + ykk) * p.y_rs;
    for (var q = 0u; q < TN / 8u; q++) { yv[q] = vec4<f32>(y4[(yr + yc[q]) / 4u]); }
    block(yv[0], yv[1], yv[2], yv[3]);
  }
  store(t, lid);
}
