// Backward of the softmax-InfoNCE loss, both gradients from one recomputation of each logits tile, for CPU
// adapters with 8-lane subgroups. With G[r, c] = g/(2n)·(exp(v − lseA_r) + exp(v − lseB_c) − [c = label_r]
// − [r = label_c]) and v = s·⟨a_r, b_c⟩: da_r = s·Σ_c G[r, c]·b_c, written by the lane that owns row r,
// and db_c = s·Σ_r G[r, c]·a_r, summed per slot into dbp [slots, n, 4·d4] (the op adds the slots in
// order); plus the per-row partials Σ_c G[r, c]·⟨a_r, b_c⟩ of dL/ds. A workgroup is one 8-lane subgroup and
// one slot taking the row chunks (8·TM rows) slot, slot + slots, … in order. Per block of 8 columns, b is
// shared by subgroupBroadcast for the logits and da; for db each lane sums G·a over its own rows for all 8
// columns and a reduce-scatter by subgroupShuffleXor (4, 2, 1) leaves column j0 + l's sum in lane l. G is
// kept for CB blocks before da is read and written once for them (on llvmpipe that read-modify-write cost
// as much as a product at CB = 1). Fixed summation order everywhere: deterministic, no atomics, no barriers.

override TM: u32 = 4;  // rows of a per lane (strided by 8), ≤ 4
const TN = 8u;
override CB: u32 = 2;  // blocks of 8 columns per read-modify-write of da: 1 or 2

struct P { n: u32, d4: u32, has_labels: u32, slots: u32, coef: f32 }

@group(0) @binding(0) var<storage, read_write> da: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dbp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<T>>;  // a
@group(0) @binding(4) var<storage, read> y: array<vec4<T>>;  // b
@group(0) @binding(5) var<storage, read> labels: array<i32>;
@group(0) @binding(6) var<storage, read> scale: array<f32>;
@group(0) @binding(7) var<storage, read> grad: array<f32>;
@group(0) @binding(8) var<storage, read> stats: array<f32>;  // the forward's [4n] stats (lse rows | lse columns first)
@group(0) @binding(9) var<uniform> p: P;

fn share(mine: vec4<f32>) -> array<vec4<f32>, 8> {
  return array<vec4<f32>, 8>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u),
                             subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u));
}

fn label_of(r: u32) -> u32 {
  if (p.has_labels == 0u) { return r; }
  return u32(labels[r]);
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let s = scale[0];
  let gc = grad[0] * p.coef;  // g/(2n)
  let rows = 8u * TM;
  let chunks = (p.n + rows - 1u) / rows;
  for (var ch = wid.x; ch < chunks; ch += p.slots) {
    let first = ch == wid.x;
    var row: array<u32, 4>;
    var ok: array<bool, 4>;
    var lab: array<u32, 4>;
    var lx: array<f32, 4>;
    var dsp: array<f32, 4>;
    for (var t = 0u; t < TM; t++) {
      let r = ch * rows + lane + 8u * t;
      ok[t] = r < p.n;
      row[t] = min(r, p.n - 1u);  // rows past n alias row n − 1 with G = 0, and are never stored
      lab[t] = label_of(row[t]);
      lx[t] = stats[row[t]];
      dsp[t] = 0.0;
      if (ok[t]) {
        for (var k4 = 0u; k4 < p.d4; k4++) { da[row[t] * p.d4 + k4] = vec4<f32>(0.0); }
      }
    }
    let b4 = (lane & 4u) != 0u;
    let b2 = (lane & 2u) != 0u;
    let b1 = (lane & 1u) != 0u;
    for (var j0 = 0u; j0 < p.n; j0 += TN * CB) {
      // g[(h·TM + t)·8 + c] = s·G[row t, column j0 + 8h + c] (0 for rows or columns past n)
      var g: array<f32, 64>;
      for (var h = 0u; h < CB; h++) {
        let jb = j0 + h * TN;
        var acc: array<f32, 32>;
        // zeroed explicitly: on lavapipe a `var` declared in a loop kept the previous trip's values
        for (var q = 0u; q < TM * TN; q++) { acc[q] = 0.0; }
        let yrow = min(jb + lane, p.n - 1u) * p.d4;
        for (var k4 = 0u; k4 < p.d4; k4++) {
          let yb = share(vec4<f32>(y[yrow + k4]));
          for (var t = 0u; t < TM; t++) {
            let xv = vec4<f32>(x[row[t] * p.d4 + k4]);
            for (var c = 0u; c < TN; c++) { acc[t * TN + c] += dot(xv, yb[c]); }
          }
        }
        for (var c = 0u; c < TN; c++) {
          let j = jb + c;
          let jc = min(j, p.n - 1u);
          let ly = stats[p.n + jc];
          let labj = label_of(jc);
          for (var t = 0u; t < TM; t++) {
            let v = s * acc[t * TN + c];
            let hits = select(0.0, 1.0, j == lab[t]) + select(0.0, 1.0, row[t] == labj);
            let gv = select(0.0, gc * (exp(v - lx[t]) + exp(v - ly) - hits), j < p.n && ok[t]);
            dsp[t] += gv * acc[t * TN + c];
            g[(h * TM + t) * TN + c] = s * gv;
          }
        }
      }
      // da rows of this lane += Σ_c g·b_c, read and written once per CB blocks; db of column j0 + 8h + lane
      // += Σ over the chunk's rows of g·a_r
      for (var k4 = 0u; k4 < p.d4; k4++) {
        var xv: array<vec4<f32>, 4>;
        var d: array<vec4<f32>, 4>;
        for (var t = 0u; t < TM; t++) {
          xv[t] = vec4<f32>(x[row[t] * p.d4 + k4]);
          d[t] = da[row[t] * p.d4 + k4];
        }
        for (var h = 0u; h < CB; h++) {
          let jh = j0 + h * TN + lane;
          let yb = share(vec4<f32>(y[min(jh, p.n - 1u) * p.d4 + k4]));
          var e: array<vec4<f32>, 8>;
          for (var c = 0u; c < TN; c++) { e[c] = vec4<f32>(0.0); }
          for (var t = 0u; t < TM; t++) {
            for (var c = 0u; c < TN; c++) {
              let w = vec4<f32>(g[(h * TM + t) * TN + c]);
              d[t] = fma(w, yb[c], d[t]);
              e[c] = fma(w, xv[t], e[c]);
            }
          }
          // reduce-scatter over the 8 lanes (a fixed tree): lane l ends with Σ_lanes e[l]
          var f: array<vec4<f32>, 4>;
          for (var i = 0u; i < 4u; i++) {
            f[i] = select(e[i], e[i + 4u], b4) + subgroupShuffleXor(select(e[i + 4u], e[i], b4), 4u);
          }
          let g0 = select(f[0], f[2], b2) + subgroupShuffleXor(select(f[2], f[0], b2), 2u);
          let g1 = select(f[1], f[3], b2) + subgroupShuffleXor(select(f[3], f[1], b2), 2u);
          let sum = select(g0, g1, b1) + subgroupShuffleXor(select(g1, g0, b1), 1u);
          if (jh < p.n) {
            let i = (wid.x * p.n + jh) * p.d4 + k4;
            if (first) { dbp[i] = sum; } else { dbp[i] = dbp[i] + sum; }
          }
        }
        for (var t = 0u; t < TM; t++) {
          if (ok[t]) { da[row[t] * p.d4 + k4] = d[t]; }
        }
      }
    }
    for (var t = 0u; t < TM; t++) {
      if (ok[t]) { part[row[t]] = dsp[t]; }
    }
  }
}
