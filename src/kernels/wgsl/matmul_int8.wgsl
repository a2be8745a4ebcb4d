// y[m, n] = f32(Σ_k xq[m, k]·wq[n, k]) · xs[m] · ws[n] + bias[n]: the int8 matmul of a dynamically quantised
// Linear. Operands are rows of packed int8 words (four per u32, zero-padded: see quantize_rows_int8.wgsl),
// xq [M, KW] and wq [N, KW] (torch's weight layout [out, in]); the sum accumulates exactly in i32 (|sum| ≤
// 127²·K, so K up to 133,000), and the epilogue dequantises in f32. dot4 comes from int8_dot_packed.wgsl or
// int8_dot_unpacked.wgsl, prepended. Each invocation computes a 4×4 block from registers, without
// workgroup memory or barriers (a barrier is costly on the software adapter, where a workgroup is one thread).

struct P { M: u32, N: u32, KW: u32, has_bias: u32 }

@group(0) @binding(0) var<storage, read_write> y: array<f32>; // [M, N]
@group(0) @binding(1) var<storage, read> xq: array<u32>;      // [M, KW]
@group(0) @binding(2) var<storage, read> xs: array<f32>;      // [M]
@group(0) @binding(3) var<storage, read> wq: array<u32>;      // [N, KW]
@group(0) @binding(4) var<storage, read> ws: array<f32>;      // [N]
@group(0) @binding(5) var<storage, read> bias: array<f32>;    // [N] (unread when has_bias is 0)
@group(0) @binding(6) var<uniform> p: P;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  // Rows past the end re-read the last row (a valid address); their results are never written.
  var xr: array<u32, 4>;
  var wr: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    xr[i] = min(m0 + i, p.M - 1u) * p.KW;
    wr[i] = min(n0 + i, p.N - 1u) * p.KW;
  }
  var acc: array<i32, 16>;
  for (var k = 0u; k < p.KW; k++) {
    let a = vec4<u32>(xq[xr[0] + k], xq[xr[1] + k], xq[xr[2] + k], xq[xr[3] + k]);
    let b = vec4<u32>(wq[wr[0] + k], wq[wr[1] + k], wq[wr[2] + k], wq[wr[3] + k]);
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] += dot4(a[i], b[j]); }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) { break; }
      var v = f32(acc[i * 4u + j]) * xs[m] * ws[n];
      if (p.has_bias != 0u) { v += bias[n]; }
      y[m * p.N + n] = v;
    }
  }
}
