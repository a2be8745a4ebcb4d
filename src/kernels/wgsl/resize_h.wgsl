// Horizontal pass of a separable resample (PIL's ImagingResampleHorizontal), one invocation per output
// pixel of one row, all channels. Taps come precomputed per output column: coef[c_off + 2x] is the first
// input column, coef[c_off + 2x + 1] the tap count, and the weights follow at c_off + 2·out_w + x·ksize.
// U8 (PIL's 8-bit path): src holds packed bytes, weights are 22-bit fixed point, each result is rounded
// and clamped to 0..255 exactly as PIL does between its two passes. Otherwise src and weights are f32 bits
// and the sum stays f32 (PIL's mode-F path). tmp holds one value (u8 or f32 bits) per element.

override U8: bool = true;

struct P {
  rows: u32, out_w: u32, in_w: u32, channels: u32,
  ksize: u32, c_off: u32, _a: u32, _b: u32,
}

@group(0) @binding(0) var<storage, read_write> tmp: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> coef: array<i32>;
@group(0) @binding(3) var<uniform> p: P;

fn byte_at(i: u32) -> i32 { return i32((src[i >> 2u] >> ((i & 3u) * 8u)) & 255u); }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.rows * p.out_w) { return; }
  let row = i / p.out_w;
  let x = i % p.out_w;
  let first = u32(coef[p.c_off + 2u * x]);
  let n = u32(coef[p.c_off + 2u * x + 1u]);
  let wb = p.c_off + 2u * p.out_w + x * p.ksize;
  let base = (row * p.in_w + first) * p.channels;
  for (var c = 0u; c < p.channels; c++) {
    if (U8) {
      var ss = 1i << 21u;
      for (var j = 0u; j < n; j++) { ss += byte_at(base + j * p.channels + c) * coef[wb + j]; }
      tmp[i * p.channels + c] = u32(clamp(ss >> 22u, 0i, 255i));
    } else {
      var s = 0.0;
      for (var j = 0u; j < n; j++) { s += bitcast<f32>(src[base + j * p.channels + c]) * bitcast<f32>(coef[wb + j]); }
      tmp[i * p.channels + c] = bitcast<u32>(s);
    }
  }
}
