// Profile of the ImageBind demo's stage-1 training step (config `imagebind_demo`, image–text pair, the
// synthetic scenes, batch 64 as kiln.train.demo), through the trainer's own loop, as `kiln profile` does.
// Standalone: `npm run build && node bench/imagebind-demo-step.mjs [--steps=2] [--warmup=1] [--top=25]`.
// `--time` instead times each step (the loss read back every step): wall and process CPU ms, dispatches and
// GPU buffers created, medians over `--steps` after `--warmup`.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kiln from '../dist/node.js';

const arg = (name, dflt) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const steps = arg('steps', 2);
const warmup = arg('warmup', 1);
const top = arg('top', 25);
const timing = process.argv.includes('--time');
const out = await mkdtemp(join(tmpdir(), 'kiln-ib-step-'));
const total = warmup + steps + 1;
const rows = [];
let last = null;
const mark = () => ({ wall: performance.now(), cpu: process.cpuUsage(), work: kiln.memory() });
await kiln.init();
const dataset = await kiln.data.synthetic({ size: 256, seed: 0 });
let stop = null;
let report = null;
try {
  await kiln.train.fit(
    { model: { kind: 'imagebind', config: 'demo' }, pairs: [{ a: 'vision', b: 'text' }], batchSize: 64, seed: 0, optimizer: { lr: 2e-3, weightDecay: 0.05 }, steps: total, evalEvery: 0, logEvery: timing ? 1 : total, checkpointEvery: total, out },
    {
      dataset,
      callbacks: {
        async onStep({ step }) {
          if (timing) {
            const now = mark();
            if (last !== null && step > warmup && step <= warmup + steps) {
              const cpu = process.cpuUsage(last.cpu);
              rows.push({ wall: now.wall - last.wall, cpu: (cpu.user + cpu.system) / 1000, dispatches: now.work.dispatches - last.work.dispatches, buffers: now.work.buffersCreated - last.work.buffersCreated });
            }
            last = now;
            return;
          }
          if (step === warmup) await new Promise((opened) => { report = kiln.profile(() => new Promise((resolve) => { stop = resolve; opened(); })); });
          if (step === warmup + steps) stop?.();
        },
      },
    },
  );
} finally {
  await rm(out, { recursive: true, force: true });
}
if (timing) {
  const median = (k) => rows.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
  const range = (k) => `${Math.min(...rows.map((r) => r[k])).toFixed(0)}–${Math.max(...rows.map((r) => r[k])).toFixed(0)}`;
  console.log(`steps ${rows.length}: wall ms ${median('wall').toFixed(0)} (${range('wall')}), CPU ms ${median('cpu').toFixed(0)} (${range('cpu')}), dispatches ${median('dispatches')}, buffers created ${rows.reduce((a, r) => a + r.buffers, 0)}`);
} else console.log((await report).table({ top }));
