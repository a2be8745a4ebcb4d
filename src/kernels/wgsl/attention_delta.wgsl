// Attention backward, step 1: per query row, ld = (lse, Δ) with Δ = Σ_d dO·O, one invocation per row.
// Packing both into one [rows, 2] buffer keeps the dq and dk/dv kernels within 8 storage bindings.
// The prelude defines T. O is the contiguous forward output; dO is read through (b, h, row) strides.

struct P { rows: u32, Lq: u32, H: u32, D: u32, gs: vec4<u32> }

@group(0) @binding(0) var<storage, read_write> ld: array<f32>;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read> o: array<T>;
@group(0) @binding(3) var<storage, read> g: array<T>;
@group(0) @binding(4) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) { return; }
  let i = r % p.Lq;
  let bh = r / p.Lq;
  let gb = p.gs.x + (bh / p.H) * p.gs.y + (bh % p.H) * p.gs.z + i * p.gs.w;
  var acc = 0.0;
  for (var d = 0u; d < p.D; d++) { acc = fma(f32(g[gb + d]), f32(o[r * p.D + d]), acc); }
  ld[2u * r] = lse[r];
  ld[2u * r + 1u] = acc;
}
