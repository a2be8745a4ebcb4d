// Row reduction over a strided view: one invocation reduces `chunk` elements of one output row.
// Rows and the reduced ("inner") elements are each addressed through up to 8 (shape, stride) pairs.
// The prelude defines T (stored input), O (stored output) and C (compute type); OP picks the reduction.
// Deterministic: each output is one sequential loop, and long rows are split into fixed chunks that a
// second pass combines in order.

override OP: u32 = 0u; // 0 sum, 1 max, 2 min, 3 argmax, 4 argmin
override FLOAT: bool = true; // C is f32 (NaN is possible)

struct P {
  rows: u32, inner: u32, chunk: u32, parts: u32,
  offset: u32, orank: u32, irank: u32, _pad: u32,
  oshape: array<vec4<u32>, 2>, ostride: array<vec4<u32>, 2>,
  ishape: array<vec4<u32>, 2>, istride: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> out: array<O>;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<uniform> p: P;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

// NaN test on the bits: compilers may fold `v != v` to false under fast-math assumptions.
fn is_nan(v: C) -> bool { return FLOAT && (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = gid.x + gid.y * nwg.x * 64u;
  if (id >= p.rows * p.parts) { return; }
  let row = id / p.parts;
  let part = id % p.parts;
  var base = p.offset;
  var rem = row;
  for (var d = i32(p.orank) - 1; d >= 0; d--) {
    let s = at(p.oshape, u32(d));
    base += (rem % s) * at(p.ostride, u32(d));
    rem = rem / s;
  }
  let start = part * p.chunk;
  let end = min(start + p.chunk, p.inner);
  // Reduced elements along one stride (the common case after merging axes) need no div/mod per element.
  let linear = p.irank <= 1u;
  let step = select(0u, p.istride[0][0], p.irank == 1u);
  var acc: C = C(0);
  var best = 0u;
  var j = start;
  if (OP == 0u && linear) {
    // Sums: four independent accumulators, so consecutive adds do not wait on each other.
    var a0: C = C(0); var a1: C = C(0); var a2: C = C(0); var a3: C = C(0);
    for (; j + 4u <= end; j += 4u) {
      let o = base + j * step;
      a0 += C(src[o]);
      a1 += C(src[o + step]);
      a2 += C(src[o + 2u * step]);
      a3 += C(src[o + 3u * step]);
    }
    acc = (a0 + a1) + (a2 + a3);
    for (; j < end; j++) { acc += C(src[base + j * step]); }
  }
  for (; j < end; j++) {
    var off = base + j * step;
    if (!linear) {
      off = base;
      var r = j;
      for (var d = i32(p.irank) - 1; d >= 0; d--) {
        let s = at(p.ishape, u32(d));
        off += (r % s) * at(p.istride, u32(d));
        r = r / s;
      }
    }
    let v = C(src[off]);
    if (j == start) {
      acc = v;
      best = j;
      continue;
    }
    // NaN wins max/min/argmax/argmin, as in PyTorch; ties keep the first index.
    switch OP {
      case 0u: { acc += v; }
      case 1u, 3u: { if (!is_nan(acc) && (v > acc || is_nan(v))) { acc = v; best = j; } }
      default: { if (!is_nan(acc) && (v < acc || is_nan(v))) { acc = v; best = j; } }
    }
  }
  if (OP >= 3u) { out[id] = O(best); } else { out[id] = O(acc); }
}
