// Kaldi fbank, step 1: frames of `length` samples every `shift` samples (snip edges), each with its mean
// removed, pre-emphasised (x[i] −= c·x[i−1], x[−1] = x[0]), windowed and zero-padded to 512, then its
// 257-bin complex spectrum. One invocation per frame (no barriers: cheap on the software adapter).
// Needs fft512.wgsl before it. PREPROCESS = false transforms the raw frames (tests the FFT alone).
// Frames are grouped by clip: frame slot t of clip c reads samples from start[c] + t·shift and exists
// when t < count[c]; slots past count are left unwritten.

override PREPROCESS: bool = true;

struct P {
  slots: u32, clips: u32, length: u32, shift: u32,
  preemph: f32, _p0: u32, _p1: u32, _p2: u32,
  start: array<vec4<u32>, 4>, count: array<vec4<u32>, 4>,
}

@group(0) @binding(0) var<storage, read_write> spec: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> wave: array<f32>;
@group(0) @binding(2) var<storage, read> win: array<f32>;
@group(0) @binding(4) var<uniform> p: P;

fn at(v: array<vec4<u32>, 4>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

// Real sample n of the frame (0 past `length`) into the packed complex array, bit-reversed.
fn put(n: u32, v: f32) {
  let r = reverseBits(n >> 1u) >> 24u;
  if ((n & 1u) == 0u) { z[r].x = v; } else { z[r].y = v; }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let f = gid.x + gid.y * nwg.x * 64u;
  if (f >= p.slots * p.clips) { return; }
  let c = f / p.slots;
  let t = f % p.slots;
  if (t >= at(p.count, c)) { return; }
  let s0 = at(p.start, c) + t * p.shift;
  var mean = 0.0;
  if (PREPROCESS) {
    for (var n = 0u; n < p.length; n++) { mean += wave[s0 + n]; }
    mean /= f32(p.length);
  }
  var prev = wave[s0] - mean;
  for (var n = 0u; n < 512u; n++) {
    var v = 0.0;
    if (n < p.length) {
      let x = wave[s0 + n] - mean;
      v = x;
      if (PREPROCESS) { v = (x - p.preemph * prev) * win[n]; }
      prev = x;
    }
    put(n, v);
  }
  fft256();
  for (var k = 0u; k <= 256u; k++) { spec[f * 257u + k] = real_bin(k); }
}
