// Relayout or not (src/kernels/matmul-relayout.ts): each product timed through the default path, which
// copies a k-major operand with the tiled transpose when the product does enough multiply-adds per copied
// element, against the same kernel configuration forced (never relaid: the per-element `main_scalar`
// entry). Shapes: the weight gradients xᵀ·g and Linear's x·Wᵀ of the CLIP step (bench/clip-step.mjs) and
// of the demo ImageBind step (bench/imagebind-demo-step.mjs). Median ms per product, wall and process CPU.
//   npm run build && node bench/matmul-relayout.mjs [--runs=5] [--reps=4]

import { timeIt } from './lib/cpu-timing.mjs';
import * as kiln from '../dist/node.js';
import { defaultMatmulConfig, runMatmul } from '../dist/kernels/matmul.js';
import { empty } from '../dist/tensor/alloc.js';

const opt = (name, dflt) => Number(process.argv.find((s) => s.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const runs = opt('runs', 5);
const reps = opt('reps', 4);

/** [label, rows of x (B·L), in, out, kind]: 'dW' = xᵀ·g ([in, rows]·[rows, out]), 'fwd' = x·Wᵀ. */
const cases = [
  ['CLIP vision fc1 dW', 1600, 256, 1024, 'dW'],
  ['CLIP vision fc2 dW', 1600, 1024, 256, 'dW'],
  ['CLIP text qkv dW', 2464, 256, 768, 'dW'],
  ['CLIP text out dW', 2464, 256, 256, 'dW'],
  ['demo fc1 dW', 1088, 64, 256, 'dW'],
  ['demo fc2 dW', 1088, 256, 64, 'dW'],
  ['demo qkv dW', 1088, 64, 192, 'dW'],
  ['demo out dW', 1088, 64, 64, 'dW'],
  ['demo fc1 x·Wᵀ', 1088, 64, 256, 'fwd'],
  ['demo out x·Wᵀ', 1088, 64, 64, 'fwd'],
];

await kiln.init();
const cfg = defaultMatmulConfig();
console.log(`| product | M×K×N | relaid ms (cpu) | forced, not relaid ms (cpu) | cpu ratio |\n|---|---|---|---|---|`);
for (const [label, rows, inp, outp, kind] of cases) {
  const x = kiln.randn([rows, inp]);
  const g = kiln.randn(kind === 'dW' ? [rows, outp] : [outp, inp]);
  const [a, b] = kind === 'dW' ? [x.mT, g] : [x, g.mT];
  const [M, K, N] = [a.shape[0], a.shape[1], b.shape[1]];
  const o = empty([M, N], 'f32');
  const p = { out: o.operand('bench'), a: a.operand('bench'), b: b.operand('bench') };
  const time = (config) => timeIt(kiln, runs, async () => {
    for (let i = 0; i < reps; i++) runMatmul(p, config);
    await kiln.flush();
  });
  // Interleaved: relaid, forced, relaid, forced; the medians of both rounds' medians.
  const r = [];
  for (let round = 0; round < 2; round++) r.push(await time(undefined), await time(cfg));
  const med = (i) => [(r[i].median + r[i + 2].median) / 2 / reps, (r[i].cpuMs + r[i + 2].cpuMs) / 2 / reps];
  const [rw, rc] = med(0);
  const [fw, fc] = med(1);
  console.log(`| ${label} | ${M}×${K}×${N} | ${rw.toFixed(2)} (${rc.toFixed(2)}) | ${fw.toFixed(2)} (${fc.toFixed(2)}) | ${(rc / fc).toFixed(2)} |`);
  for (const t of [x, g, o]) t.dispose();
}
