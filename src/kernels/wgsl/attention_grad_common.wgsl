// Shared by the attention dq and dk/dv kernels (prepended after attention_common.wgsl): rows of the output
// gradient g (dO) and the per-row statistics ld = (lse, Δ = Σ_d dO·O).

fn row_g(b: u32, h: u32, i: u32) -> u32 { return p.gs.x + b * p.gs.y + h * p.gs.z + i * p.gs.w; }

fn ld_g(base: u32, c: u32) -> vec4<f32> {
  let d = base + 4u * c;
  if (4u * c + 4u <= p.dh) { return vec4<f32>(f32(g[d]), f32(g[d + 1u]), f32(g[d + 2u]), f32(g[d + 3u])); }
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.dh) { r[e] = f32(g[d + e]); } }
  return r;
}
