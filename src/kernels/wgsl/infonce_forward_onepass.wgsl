// Forward of the softmax-InfoNCE (CLIP) loss, both sides in one sweep over the logits v = s·a·bᵀ, for CPU
// adapters with 8-lane subgroups: each row of a gets its log-sum-exp and loss term (an online max/sum over
// the columns, as infonce_forward_sg.wgsl), and each column of v gets a partial (max, Σexp) per slot,
// merged by infonce_columns.wgsl in slot order. A workgroup is one 8-lane subgroup and one slot; slot s
// takes the row chunks (8·TM rows each) s, s + slots, … in order, so partials are [slots, n] (slots ≤ 64)
// and every sum runs in a fixed order: no atomics, no barriers. Y (= b) is shared by subgroupBroadcast.
// stats [4n]: lse rows | lse columns (from infonce_columns) | loss terms rows | column targets v[label_j, j].

override TM: u32 = 4;  // rows of a per lane (strided by 8), ≤ 4
const TN = 8u;         // columns per step: one per lane

struct P { n: u32, d4: u32, has_labels: u32, slots: u32 }

@group(0) @binding(0) var<storage, read_write> stats: array<f32>;
@group(0) @binding(1) var<storage, read_write> colp: array<vec2<f32>>;  // [slots, n] (max, Σexp)
@group(0) @binding(2) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> y: array<vec4<T>>;
@group(0) @binding(4) var<storage, read> labels: array<i32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<uniform> p: P;

const NEG = -3.4028234663852886e38;

fn share(mine: vec4<f32>) -> array<vec4<f32>, 8> {
  return array<vec4<f32>, 8>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u),
                             subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u));
}

// Max and sum over the 8 lanes, in lane order.
fn max8(v: f32) -> f32 {
  return max(max(max(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u)), max(subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u))),
             max(max(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u)), max(subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u))));
}
fn sum8(v: f32) -> f32 {
  return ((subgroupBroadcast(v, 0u) + subgroupBroadcast(v, 1u)) + (subgroupBroadcast(v, 2u) + subgroupBroadcast(v, 3u))) +
         ((subgroupBroadcast(v, 4u) + subgroupBroadcast(v, 5u)) + (subgroupBroadcast(v, 6u) + subgroupBroadcast(v, 7u)));
}

fn label_of(r: u32) -> u32 {
  if (p.has_labels == 0u) { return r; }
  return u32(labels[r]);  // a negative label wraps past n: no logit matches it
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let s = scale[0];
  let rows = 8u * TM;
  let chunks = (p.n + rows - 1u) / rows;
  for (var ch = wid.x; ch < chunks; ch += p.slots) {
    let first = ch == wid.x;
    var xrow: array<u32, 4>;
    var ok: array<bool, 4>;
    var lab: array<u32, 4>;
    var mx: array<f32, 4>;
    var sm: array<f32, 4>;
    var tgt: array<f32, 4>;
    for (var t = 0u; t < TM; t++) {
      let r = ch * rows + lane + 8u * t;
      ok[t] = r < p.n;
      let rc = min(r, p.n - 1u);  // rows past n compute a duplicate that is masked out and never stored
      xrow[t] = rc * p.d4;
      lab[t] = label_of(rc);
      mx[t] = NEG;
      sm[t] = 0.0;
      tgt[t] = 0.0;
    }
    for (var j0 = 0u; j0 < p.n; j0 += TN) {
      var acc: array<f32, 32>;
      // zeroed explicitly: on lavapipe a `var` declared in a loop kept the previous trip's values
      for (var q = 0u; q < TM * TN; q++) { acc[q] = 0.0; }
      let jl = j0 + lane;  // this lane's column for the column statistics
      let yrow = min(jl, p.n - 1u) * p.d4;
      for (var k4 = 0u; k4 < p.d4; k4++) {
        let yb = share(vec4<f32>(y[yrow + k4]));
        for (var t = 0u; t < TM; t++) {
          let xv = vec4<f32>(x[xrow[t] + k4]);
          for (var c = 0u; c < TN; c++) { acc[t * TN + c] += dot(xv, yb[c]); }
        }
      }
      for (var q = 0u; q < TM * TN; q++) { acc[q] *= s; }
      // rows: online max/sum over the columns
      for (var t = 0u; t < TM; t++) {
        var cm = NEG;
        for (var c = 0u; c < TN; c++) {
          if (j0 + c < p.n) { cm = max(cm, acc[t * TN + c]); }
        }
        let m = max(mx[t], cm);
        var e = sm[t] * exp(mx[t] - m);
        for (var c = 0u; c < TN; c++) {
          let j = j0 + c;
          if (j < p.n) { e += exp(acc[t * TN + c] - m); }
          if (j == lab[t]) { tgt[t] = acc[t * TN + c]; }
        }
        mx[t] = m;
        sm[t] = e;
      }
      // columns: max and Σexp over this chunk's rows (lane c ends up with column j0 + c's), and the
      // column targets, each written by the one lane that holds v[label_j, j]
      var cmax = NEG;
      var csum = 0.0;
      for (var c = 0u; c < TN; c++) {
        let j = j0 + c;
        let labj = label_of(min(j, p.n - 1u));
        var m = NEG;
        for (var t = 0u; t < TM; t++) {
          if (ok[t]) { m = max(m, acc[t * TN + c]); }
        }
        let cm = max8(m);
        var e = 0.0;
        for (var t = 0u; t < TM; t++) {
          if (ok[t]) { e += exp(acc[t * TN + c] - cm); }
          if (ok[t] && j < p.n && labj == ch * rows + lane + 8u * t) { stats[3u * p.n + j] = acc[t * TN + c]; }
        }
        let ce = sum8(e);
        if (c == lane) { cmax = cm; csum = ce; }
      }
      if (jl < p.n) {
        let i = wid.x * p.n + jl;
        if (first) {
          colp[i] = vec2<f32>(cmax, csum);
        } else {
          let o = colp[i];
          let m = max(o.x, cmax);
          colp[i] = vec2<f32>(m, o.y * exp(o.x - m) + csum * exp(cmax - m));
        }
      }
    }
    for (var t = 0u; t < TM; t++) {
      let r = ch * rows + lane + 8u * t;
      if (ok[t]) {
        let lse = mx[t] + log(sm[t]);
        stats[r] = lse;
        stats[2u * p.n + r] = lse - tgt[t];
      }
    }
  }
}
