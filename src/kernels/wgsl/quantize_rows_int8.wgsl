// Symmetric int8 quantisation of each row of a contiguous f32 matrix x [rows, cols]: scale = max|x| / 127,
// q = clamp(round(x / scale), -127, 127) packed four to a u32 (byte j holds column 4w + j, two's complement;
// columns past the end are 0). One invocation per row: rows never share a reduction, so there is no barrier.
// Used for activations at run time (per row: per token) and, once, for weights (per output channel).

struct P { rows: u32, cols: u32, words: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read_write> q: array<u32>;     // [rows, words]
@group(0) @binding(1) var<storage, read_write> scale: array<f32>; // [rows]
@group(0) @binding(2) var<storage, read> x: array<f32>;           // [rows, cols]
@group(0) @binding(3) var<uniform> p: P;

fn quantized(v: f32, inv: f32) -> u32 {
  let r = i32(clamp(round(v * inv), -127.0, 127.0));
  return bitcast<u32>(r) & 0xffu;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var amax = 0.0;
  for (var k = 0u; k < p.cols; k++) { amax = max(amax, abs(x[base + k])); }
  // An all-zero row has scale 0 and quantises to zeros; its products then vanish in the epilogue too.
  let s = amax / 127.0;
  let inv = select(0.0, 127.0 / amax, amax > 0.0);
  scale[row] = s;
  for (var w = 0u; w < p.words; w++) {
    var word = 0u;
    for (var j = 0u; j < 4u; j++) {
      let k = 4u * w + j;
      if (k < p.cols) { word |= quantized(x[base + k], inv) << (8u * j); }
    }
    q[row * p.words + w] = word;
  }
}
