// Bilinear resize without antialiasing (PyTorch's upsample_bilinear2d, align_corners = false) of an 8-bit
// interleaved image read as v / 255, fused with a crop and Normalize: one invocation per output pixel of
// the crop window at (x0, y0) in the resized image of scale (sx, sy) = in / out, writing channel-planar
// f32 out[o_off + c·c_stride + y·out_w + x] = (v − mean[c]) / std[c].

struct P {
  in_w: u32, in_h: u32, channels: u32, o_off: u32,
  out_w: u32, out_h: u32, x0: u32, y0: u32,
  sx: f32, sy: f32, c_stride: u32, _a: u32,
  mean: vec4<f32>, sdev: vec4<f32>,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<uniform> p: P;

fn px(i: u32) -> f32 { return f32((src[i >> 2u] >> ((i & 3u) * 8u)) & 255u) / 255.0; }

// Source coordinate of a destination index: max(scale·(d + 0.5) − 0.5, 0), its floor, the step to the
// next sample (0 at the last one) and the fractional weight.
fn axis(d: u32, scale: f32, n: u32) -> vec3<f32> {
  let r = max(scale * (f32(d) + 0.5) - 0.5, 0.0);
  let i0 = u32(r);
  return vec3<f32>(f32(i0), select(0.0, 1.0, i0 < n - 1u), r - f32(i0));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.out_w * p.out_h) { return; }
  let ax = axis(i % p.out_w + p.x0, p.sx, p.in_w);
  let ay = axis(i / p.out_w + p.y0, p.sy, p.in_h);
  let x0 = u32(ax.x);
  let x1 = x0 + u32(ax.y);
  let y0 = u32(ay.x);
  let y1 = y0 + u32(ay.y);
  let C = p.channels;
  for (var c = 0u; c < C; c++) {
    let top = (1.0 - ax.z) * px((y0 * p.in_w + x0) * C + c) + ax.z * px((y0 * p.in_w + x1) * C + c);
    let bot = (1.0 - ax.z) * px((y1 * p.in_w + x0) * C + c) + ax.z * px((y1 * p.in_w + x1) * C + c);
    let v = (1.0 - ay.z) * top + ay.z * bot;
    out[p.o_off + c * p.c_stride + i] = (v - p.mean[c]) / p.sdev[c];
  }
}
