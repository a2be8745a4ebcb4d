// A 512-point real FFT in one invocation's private memory: the 512 real inputs are packed as 256 complex
// values z[n] = x[2n] + i·x[2n+1], transformed by an iterative radix-2 FFT, then split into the 257
// non-redundant bins of the real signal's spectrum. Not a general FFT: the size is fixed.
// Twiddles come from a float64-computed table tw[k] = e^(−2πik/512), k = 0..256 (WGSL's cos/sin are only
// guaranteed to ~2^-11 on some GPUs).

@group(0) @binding(3) var<storage, read> tw: array<vec2<f32>>;

// In bit-reversed order (written by the caller at index reverseBits(n) >> 24).
var<private> z: array<vec2<f32>, 256>;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> { return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }

fn fft256() {
  // Decimation in time: butterflies of span 2·half use W_(2·half)^j = W_512^(j·256/half).
  for (var half = 1u; half < 256u; half <<= 1u) {
    let stride = 256u / half;
    for (var base = 0u; base < 256u; base += 2u * half) {
      for (var j = 0u; j < half; j++) {
        let u = z[base + j];
        let v = cmul(z[base + j + half], tw[j * stride]);
        z[base + j] = u + v;
        z[base + j + half] = u - v;
      }
    }
  }
}

// Bin k (0..256) of the 512-point real spectrum from the packed transform Z:
// X[k] = E + W^k·O with E = (Z[k] + conj Z[256−k]) / 2, O = −i·(Z[k] − conj Z[256−k]) / 2.
fn real_bin(k: u32) -> vec2<f32> {
  let a = z[k % 256u];
  let b = z[(256u - k) % 256u];
  let bc = vec2<f32>(b.x, -b.y);
  let e = 0.5 * (a + bc);
  let d = 0.5 * (a - bc);
  let o = vec2<f32>(d.y, -d.x);
  return e + cmul(tw[k], o);
}
