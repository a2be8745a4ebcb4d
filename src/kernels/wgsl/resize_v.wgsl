// Vertical pass of a separable resample (PIL's ImagingResampleVertical) fused with ToTensor and Normalize:
// one invocation per output pixel, writing channel-planar f32 out[o_off + c·c_stride + y·out_w + x] =
// (v − mean[c]) / std[c], where v is the 8-bit result / 255 (U8) or the f32 sum. tmp holds the horizontal
// pass's rows from input row `row0` on, `out_w` pixels of `channels` values each. Taps as in resize_h.wgsl.

override U8: bool = true;

struct P {
  out_w: u32, out_h: u32, channels: u32, row0: u32,
  ksize: u32, c_off: u32, o_off: u32, c_stride: u32,
  mean: vec4<f32>, sdev: vec4<f32>,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> tmp: array<u32>;
@group(0) @binding(2) var<storage, read> coef: array<i32>;
@group(0) @binding(3) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.out_w * p.out_h) { return; }
  let y = i / p.out_w;
  let x = i % p.out_w;
  let first = u32(coef[p.c_off + 2u * y]) - p.row0;
  let n = u32(coef[p.c_off + 2u * y + 1u]);
  let wb = p.c_off + 2u * p.out_h + y * p.ksize;
  for (var c = 0u; c < p.channels; c++) {
    var v: f32;
    if (U8) {
      var ss = 1i << 21u;
      for (var j = 0u; j < n; j++) { ss += i32(tmp[((first + j) * p.out_w + x) * p.channels + c]) * coef[wb + j]; }
      v = f32(clamp(ss >> 22u, 0i, 255i)) / 255.0;
    } else {
      var s = 0.0;
      for (var j = 0u; j < n; j++) { s += bitcast<f32>(tmp[((first + j) * p.out_w + x) * p.channels + c]) * bitcast<f32>(coef[wb + j]); }
      v = s;
    }
    out[p.o_off + c * p.c_stride + i] = (v - p.mean[c]) / p.sdev[c];
  }
}
