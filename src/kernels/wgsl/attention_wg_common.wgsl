// Shared by the workgroup-memory attention kernels (attention_wg_*.wgsl, prepended after attention_common
// and, for the backward ones, attention_grad_common): the two tiles of BK rows in workgroup memory and the
// workgroup's copy of BK key and value rows into them (forward and dq; dk/dv stages query and dO rows).

override BK: u32 = 16u; // rows per tile (workgroup storage 2·BK·TILE_ROW·16 bytes: attentionWgStorage)

const TILE_ROW = 32u; // vec4s per tile row: head dims up to 128

var<workgroup> ta: array<vec4<f32>, BK * TILE_ROW>; // key rows (forward, dq) or query rows (dk/dv)
var<workgroup> tb: array<vec4<f32>, BK * TILE_ROW>; // value rows (forward, dq) or dO rows (dk/dv)

// Keys and values j0 .. j0 + n into ta and tb, one vec4 per invocation and step; the caller puts the
// barrier after it.
fn stage_kv(w: Tile, j0: u32, n: u32, lid: u32) {
  for (var e = lid; e < n * p.d4; e += WG) {
    let t = e / p.d4;
    let c = e % p.d4;
    ta[t * TILE_ROW + c] = ld_k(row_k(w, j0 + t), c);
    tb[t * TILE_ROW + c] = ld_v(row_v(w, j0 + t), c);
  }
}
