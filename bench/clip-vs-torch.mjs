// Issue 19's headline ratio: the CLIP contrastive training step (bench/clip-step.mjs) on Kiln against the same
// architecture in PyTorch on the CPU (bench/torch_clip_step.py, 2 threads, OpenBLAS), interleaved in one run —
// rounds of Kiln then PyTorch, each a fresh process timing `--steps` steps after `--warmup`; wall and CPU medians.
// Run: npm run build && node bench/clip-vs-torch.mjs [--rounds=2] [--steps=7] [--warmup=2]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NO_TORCH, torchPython } from './lib/torch-python.mjs';

const arg = (name, dflt) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const rounds = arg('rounds', 2);
const steps = arg('steps', 7);
const warmup = arg('warmup', 2);
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const lastJson = (out) => JSON.parse(out.trim().split('\n').pop());

const py = torchPython();
if (py === null) {
  console.log(NO_TORCH);
  process.exit(0);
}
const rows = [];
for (let r = 1; r <= rounds; r++) {
  const kiln = lastJson(execFileSync('node', [here('./clip-step.mjs'), `--steps=${steps}`, `--warmup=${warmup}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const torch = lastJson(execFileSync(py, [here('./torch_clip_step.py'), '--steps', String(steps), '--warmup', String(warmup)], { encoding: 'utf8' }));
  rows.push({ round: r, kiln, torch });
  console.log(
    `round ${r}: Kiln wall ${kiln.wallMs.toFixed(0)} ms, CPU ${kiln.cpuMs.toFixed(0)} ms | PyTorch ${torch.version} (${torch.blas}, ${torch.threads} threads, ` +
      `matmul 1024 ${torch.matmul1024GFlops} GFLOP/s) wall ${torch.wallMs.toFixed(0)} ms, CPU ${torch.cpuMs.toFixed(0)} ms | ` +
      `Kiln/PyTorch wall ${(kiln.wallMs / torch.wallMs).toFixed(2)}×, CPU ${(kiln.cpuMs / torch.cpuMs).toFixed(2)}×`,
  );
}
console.log(JSON.stringify(rows));
