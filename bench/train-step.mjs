// Training-step throughput of ImageBind configs: samples/s of one contrastive step (forward, symmetric
// InfoNCE per image-anchored pair, backward, AdamW) through kiln.train.fit on random class-structured data,
// the loss read back every step (wall clock, and the process's CPU time: on a shared machine the CPU time
// per step is the steadier figure); and the same architecture and step in PyTorch on the CPU
// (bench/torch_imagebind_step.py) where python3-torch is installed, as a ratio. Medians after 2 warm-up steps.
// Run: npm run build && node bench/train-step.mjs [--steps=7] [--cases=demo-stage1,demo-stage2,tiny]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_TORCH, torchPython } from './lib/torch-python.mjs';

const OTHERS = ['audio', 'depth', 'thermal', 'imu'];
/** The cases: the demo's two stages (stage 2 against frozen image and text towers) and the tiny config. */
export const CASES = {
  'demo-stage1': { config: 'demo', pairs: [['vision', 'text']], frozen: [], batch: 64 },
  'demo-stage2': { config: 'demo', pairs: OTHERS.map((b) => ['vision', b]), frozen: ['vision', 'text'], batch: 64 },
  tiny: { config: 'tiny', pairs: OTHERS.map((b) => ['vision', b]), frozen: [], batch: 32 },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Kiln: `steps` timed steps after 2 warm-up ones; each step's end is when its loss has been read back. */
async function kilnStep(kiln, c, steps) {
  const out = mkdtempSync(join(tmpdir(), 'kiln-bench-step-'));
  const ends = [];
  const cpu = []; // process CPU time (all threads: lavapipe's workers too), µs, at each step's end
  try {
    await kiln.train.fit(
      {
        model: { kind: 'imagebind', config: c.config },
        data: { kind: 'random', size: 4 * c.batch },
        pairs: c.pairs.map(([a, b]) => ({ a, b })),
        stages: c.frozen.length ? [{ step: 0, frozen: c.frozen }] : [],
        batchSize: c.batch,
        steps: steps + 2,
        logEvery: 1,
        checkpointEvery: 1000,
        optimizer: { lr: 1e-3, weightDecay: 0.05 },
        out,
      },
      {
        callbacks: {
          onStep: () => {
            ends.push(performance.now());
            const u = process.cpuUsage();
            cpu.push(u.user + u.system);
          },
        },
      },
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const times = ends.slice(2).map((t, i) => t - ends[i + 1]);
  const cpuMs = cpu.slice(2).map((t, i) => (t - cpu[i + 1]) / 1000);
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), cpuMs: median(cpuMs) };
}

/** PyTorch on the CPU, or the reason it was skipped when no python3 can import torch. */
function torchStep(c, steps) {
  const script = fileURLToPath(new URL('./torch_imagebind_step.py', import.meta.url));
  const py = torchPython();
  if (py === null) return { skipped: NO_TORCH };
  const args = [script, '--config', c.config, '--pairs', c.pairs.map((p) => p.join(':')).join(','), '--batch', String(c.batch), '--steps', String(steps), '--threads', '2'];
  if (c.frozen.length) args.push('--frozen', c.frozen.join(','));
  return JSON.parse(execFileSync(py, args, { encoding: 'utf8' }).trim().split('\n').pop());
}

export async function benchTrainStep(kiln, opts = {}) {
  const log = opts.log ?? ((s) => console.log(s));
  const steps = opts.steps ?? 7;
  const rows = [];
  for (const name of opts.cases ?? Object.keys(CASES)) {
    const c = CASES[name];
    if (!c) throw new Error(`train-step: unknown case ${name} (known: ${Object.keys(CASES).join(', ')})`);
    const k = await kilnStep(kiln, c, steps);
    const t = torchStep(c, steps);
    const row = { case: name, batch: c.batch, kiln: { ...k, samplesPerS: (1000 * c.batch) / k.medianMs }, torch: t };
    rows.push(row);
    const torchText = t.skipped ? t.skipped : `PyTorch CPU (${t.blas}, ${t.threads} threads) ${t.medianMs.toFixed(1)} ms, ${t.samplesPerS.toFixed(1)} samples/s; Kiln/PyTorch time ratio ${(k.medianMs / t.medianMs).toFixed(2)}×`;
    log(`${name.padEnd(12)} batch ${c.batch}: Kiln ${k.medianMs.toFixed(0)} ms (${k.minMs.toFixed(0)}–${k.maxMs.toFixed(0)}), CPU ${k.cpuMs.toFixed(0)} ms, ${row.kiln.samplesPerS.toFixed(1)} samples/s | ${torchText}`);
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const get = (k) => process.argv.slice(2).find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  const kiln = await import('../dist/node.js');
  const info = await kiln.init();
  console.log(`training step, samples/s: ${info.vendor} ${info.architecture} (${info.description})`);
  await benchTrainStep(kiln, { steps: get('steps') ? Number(get('steps')) : undefined, cases: get('cases')?.split(',') });
  process.exit(0);
}
