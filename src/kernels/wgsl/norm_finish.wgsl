// Pass 2 of the global gradient norm: one workgroup folds all partials in order (lane j takes partials
// j, j + 256, …, then the tree) and writes the root, finished (√ for L2, ^(1/p) for a general p), to a
// GPU scalar — so no value needs to come back to the CPU.

struct P { count: u32, norm_index: u32, kind: u32, p: f32 }

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> norm: array<f32>;
@group(0) @binding(2) var<uniform> p: P;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var a = 0.0;
  for (var j = lid.x; j < p.count; j += 256u) { a = combine(p.kind, a, partials[j]); }
  acc[lid.x] = a;
  reduce_workgroup(p.kind, lid.x);
  if (lid.x != 0u) { return; }
  var total = acc[0];
  if (p.kind == 0u) { total = sqrt(total); }
  if (p.kind == 3u) { total = pow(total, 1.0 / p.p); }
  norm[p.norm_index] = total;
}
