// Kaldi fbank, step 2: power spectrum → triangular mel filters → log with a floor, then ImageBind's
// pad-to-slots (absent frames are 0 in the log domain) and normalisation (v − mean) / std, written through
// output strides (so one kernel gives torchaudio's [frames, mels] or ImageBind's [clips, 1, mels, frames]).
// One invocation per output element; each filter reads only its band of bins [band.x, band.y).

struct P {
  slots: u32, clips: u32, mels: u32, _p0: u32,
  out_clip: u32, out_mel: u32, out_t: u32, out_off: u32,
  mean: f32, stdev: f32, floor: f32, _p1: u32,
  count: array<vec4<u32>, 4>,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> spec: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read> bands: array<vec2<u32>>;
@group(0) @binding(4) var<uniform> p: P;

fn at(v: array<vec4<u32>, 4>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * 64u;
  if (g >= p.slots * p.mels * p.clips) { return; }
  let t = g % p.slots;
  let m = (g / p.slots) % p.mels;
  let c = g / (p.slots * p.mels);
  var v = 0.0;
  if (t < at(p.count, c)) {
    let f = c * p.slots + t;
    let band = bands[m];
    var s = 0.0;
    for (var k = band.x; k < band.y; k++) {
      let x = spec[f * 257u + k];
      s += dot(x, x) * weights[m * 257u + k];
    }
    v = log(max(s, p.floor));
  }
  out[p.out_off + c * p.out_clip + m * p.out_mel + t * p.out_t] = (v - p.mean) / p.stdev;
}
