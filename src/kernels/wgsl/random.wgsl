// Counter-based random numbers (Philox4x32-10): element i of a draw uses counter block (offset + i / PER)
// under the key `seed`, so a value depends only on (seed, offset, i) — never on tiling or dispatch order.
// (philox.wgsl is prepended.) DIST: 0 uniform [0, 1) → out = low + (high − low)·u; 1 normal (Box–Muller) → out = low + high·z.

override DIST: u32 = 0u;

// `base`: index of this dispatch's first element in the whole draw (large outputs go in windows).
struct P { n: u32, key0: u32, key1: u32, off0: u32, off1: u32, low: f32, high: f32, base: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let local = gid.x + gid.y * nwg.x * 256u;
  if (local >= p.n) { return; }
  let i = p.base + local;
  let per = select(4u, 2u, DIST == 1u);
  let r = philox_block(p.off0, p.off1, i / per, vec2<u32>(p.key0, p.key1));
  if (DIST == 0u) {
    out[local] = O(p.low + (p.high - p.low) * unit(r[i % 4u]));
  } else {
    let j = (i % 2u) * 2u;
    let u1 = unit(r[j]) + 5.9604644775390625e-8; // (0, 1]: log stays finite
    let u2 = unit(r[j + 1u]);
    let z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    out[local] = O(p.low + p.high * z);
  }
}
