// Checked mode (kiln.setDebug(true)): scans an index tensor (strided, rank ≤ 8) for values outside
// [0, size), other than `ignore` when has_ignore is set, and raises the op's flag: flags[4·slot] = 1, then
// the offending value and the size (any one offender; which one is unspecified). The prelude defines I.

struct P {
  n: u32, rank: u32, ioff: u32, size: u32,
  slot: u32, has_ignore: u32, ignore: i32, _pad: u32,
  shape: array<vec4<u32>, 2>, ist: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> flags: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read> index: array<I>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  var rem = i;
  var io = p.ioff;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let s = p.shape[du / 4u][du % 4u];
    var c = rem;
    if (d > 0) {
      c = rem % s;
      rem = rem / s;
    }
    io += c * p.ist[du / 4u][du % 4u];
  }
  let v = index[io];
  let ignored = p.has_ignore != 0u && i32(v) == p.ignore;
  if ((v < I(0) || u32(v) >= p.size) && !ignored) {
    if (atomicMax(&flags[4u * p.slot], 1u) == 0u) {
      atomicStore(&flags[4u * p.slot + 1u], bitcast<u32>(v));
      atomicStore(&flags[4u * p.slot + 2u], p.size);
    }
  }
}
