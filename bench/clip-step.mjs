// The CLIP contrastive training step of issue 19 (ViT 224/32 + 77-token text tower, width 256, 4 layers
// each, batch 32, symmetric InfoNCE through kiln.F.infoNCE, AdamW), random weights and inputs: wall clock and
// process CPU time per step (the loss read back each step), or with --profile kiln.profileSteps' table.
// Standalone: `npm run build && node bench/clip-step.mjs [--steps=7] [--warmup=2] [--batch=32] [--profile] [--top=40]`.

import * as kiln from '../dist/node.js';

const arg = (name, dflt) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const steps = arg('steps', 7);
const warmup = arg('warmup', 2);
const B = arg('batch', 32);
const top = arg('top', 40);
const profile = process.argv.includes('--profile');

/** The architecture: width 256, 4 heads of 64, 4 layers per tower, embedding 256. */
export const clipStepConfig = {
  family: 'clip',
  name: 'issue19',
  embedDim: 256,
  activation: 'gelu',
  vision: { imageSize: 224, patchSize: 32, width: 256, layers: 4, heads: 4, mlpRatio: 4 },
  text: { contextLength: 77, vocabSize: 49408, width: 256, heads: 4, layers: 4, mlpRatio: 4 },
};

await kiln.init();
kiln.manualSeed(0);
const model = new kiln.models.ClipModel(clipStepConfig);
const params = [...model.parameters()];
const opt = new kiln.optim.AdamW(params, { lr: 1e-4, weightDecay: 0.1 });
const images = kiln.randn([B, 3, 224, 224]);
const L = clipStepConfig.text.contextLength;
const idsData = new Int32Array(B * L);
for (let b = 0; b < B; b++) {
  for (let i = 0; i < 20; i++) idsData[b * L + i] = 1 + ((b * 131 + i * 17) % 49000);
  idsData[b * L + 20] = 49407;
}
const ids = kiln.tensor(idsData, { shape: [B, L], dtype: 'i32' });

/** One step: forward, symmetric InfoNCE, backward, AdamW; returns the loss (not read back). */
function step() {
  opt.zeroGrad();
  return kiln.tidy(() => {
    const out = model.call(images, ids);
    const loss = kiln.F.infoNCE(out.imageFeatures, out.textFeatures, out.logitScale);
    loss.backward();
    opt.step();
    return loss.detach();
  });
}

for (let i = 0; i < warmup; i++) {
  const l = step();
  await l.data();
  l.dispose();
}
if (profile) {
  const report = await kiln.profileSteps(async () => {
    const l = step();
    await l.data();
    l.dispose();
  }, steps, { warmup: 0 });
  console.log(report.table({ top }));
} else {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const l = step();
    const v = (await l.data())[0];
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    l.dispose();
    if (!Number.isFinite(v)) throw new Error(`loss ${v}`);
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`clip step B=${B}: wall median ${med(wall).toFixed(0)} ms [${wall.map((x) => x.toFixed(0)).join(' ')}], cpu median ${med(cpu).toFixed(0)} ms [${cpu.map((x) => x.toFixed(0)).join(' ')}]`);
  console.log(JSON.stringify({ wallMs: med(wall), cpuMs: med(cpu) }));
}
