// Philox4x32-10, the counter-based generator behind every random draw (rand, randn, dropout): a value
// depends only on (key, counter), never on tiling or dispatch order. Included ahead of the kernels that use it.

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

// Block `block` (a 64-bit counter split in two words, plus `offset`) under `key`.
fn philox_block(off0: u32, off1: u32, block: u32, key: vec2<u32>) -> vec4<u32> {
  let lo = off0 + block;
  let carry = select(0u, 1u, lo < off0);
  return philox(vec4<u32>(lo, off1 + carry, 0u, 0u), key);
}
