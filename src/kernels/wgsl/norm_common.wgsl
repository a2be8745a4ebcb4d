// Shared by the two passes of the global gradient norm: the per-element term and the combine of the
// p-norm of the given kind (0: L2 as a sum of squares, 1: L1, 2: L∞ as a max, 3: general p as a sum of
// |x|^p), and a fixed-order tree reduction over one workgroup, so the result does not depend on scheduling.
// The kind is a uniform, not an override: one pipeline serves every norm (each compile costs seconds on a
// software adapter), and a branch on a uniform costs nothing next to the memory traffic.

var<workgroup> acc: array<f32, 256>;

fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

fn term(kind: u32, x: f32, p: f32) -> f32 {
  switch kind {
    case 0u: { return x * x; }
    case 3u: { return pow(abs(x), p); }
    default: { return abs(x); }
  }
}

fn combine(kind: u32, a: f32, b: f32) -> f32 {
  // max() of a NaN is unspecified in WGSL: a NaN is carried through the sum instead, as torch's norm does.
  if (kind == 2u && !is_nan(a) && !is_nan(b)) { return max(a, b); }
  return a + b;
}

/** Combines acc[0..256) into acc[0] in a fixed tree order; every invocation of the workgroup calls it. */
fn reduce_workgroup(kind: u32, lid: u32) {
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { acc[lid] = combine(kind, acc[lid], acc[lid + s]); }
    workgroupBarrier();
  }
}
