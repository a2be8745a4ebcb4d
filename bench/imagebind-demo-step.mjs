// Profile of the ImageBind demo's stage-1 training step (config `imagebind_demo`, image–text pair, the
// synthetic scenes, batch 64 as kiln.train.demo), through the trainer's own loop, as `kiln profile` does.
// Standalone: `npm run build && node bench/imagebind-demo-step.mjs [--steps=2] [--warmup=1] [--top=25]`.

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
const out = await mkdtemp(join(tmpdir(), 'kiln-ib-step-'));
const total = warmup + steps + 1;
await kiln.init();
const dataset = await kiln.data.synthetic({ size: 256, seed: 0 });
let stop = null;
let report = null;
try {
  await kiln.train.fit(
    { model: { kind: 'imagebind', config: 'demo' }, pairs: [{ a: 'vision', b: 'text' }], batchSize: 64, seed: 0, optimizer: { lr: 2e-3, weightDecay: 0.05 }, steps: total, evalEvery: 0, logEvery: total, checkpointEvery: total, out },
    {
      dataset,
      callbacks: {
        async onStep({ step }) {
          if (step === warmup) await new Promise((opened) => { report = kiln.profile(() => new Promise((resolve) => { stop = resolve; opened(); })); });
          if (step === warmup + steps) stop?.();
        },
      },
    },
  );
} finally {
  await rm(out, { recursive: true, force: true });
}
console.log((await report).table({ top }));
