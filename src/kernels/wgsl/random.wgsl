// Counter-based random numbers (Philox4x32-10): element i of a draw uses counter block (offset + i / PER)
// under the key `seed`, so a value depends only on (seed, offset, i) — never on tiling or dispatch order.
// DIST: 0 uniform [0, 1) → out = low + (high − low)·u; 1 normal (Box–Muller) → out = low + high·z.

override DIST: u32 = 0u;

struct P { n: u32, key0: u32, key1: u32, off0: u32, off1: u32, low: f32, high: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<uniform> p: P;

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  // 32×32 → 64-bit product from 16-bit halves (WGSL has no 64-bit integers)
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let x = mulhilo(0xD2511F53u, c.x);
    let y = mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(y.x ^ c.y ^ k.x, y.y, x.x ^ c.w ^ k.y, x.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

fn unit(u: u32) -> f32 { return f32(u >> 8u) * 5.9604644775390625e-8; } // [0, 1) in steps of 2^-24

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let per = select(4u, 2u, DIST == 1u);
  let block = i / per;
  let lo = p.off0 + block;
  let carry = select(0u, 1u, lo < p.off0);
  let r = philox(vec4<u32>(lo, p.off1 + carry, 0u, 0u), vec2<u32>(p.key0, p.key1));
  if (DIST == 0u) {
    out[i] = O(p.low + (p.high - p.low) * unit(r[i % 4u]));
  } else {
    let j = (i % 2u) * 2u;
    let u1 = unit(r[j]) + 5.9604644775390625e-8; // (0, 1]: log stays finite
    let u2 = unit(r[j + 1u]);
    let z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    out[i] = O(p.low + p.high * z);
  }
}
