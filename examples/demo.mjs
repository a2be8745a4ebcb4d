// Kiln demo: trains a small MLP (kiln.nn + kiln.optim.AdamW) on a synthetic regression task, all on the
// WebGPU device, checks one fused kernel against its unfused composition, and shows that a training step
// allocates no new GPU buffers after warm-up.
// Run: npm run demo
import * as kiln from 'kiln-gpu';

const info = await kiln.init();
console.log(`device: ${info.description || info.vendor} (${info.architecture}); features: ${info.features.join(', ')}`);
kiln.manualSeed(0);

// Data: y = tanh(2·x0)·exp(−x1²) + 0.5·x2 on 512 random points, computed on the GPU.
const N = 512;
const X = kiln.uniform([N, 3], -1.5, 1.5);
const target = kiln.tidy(() => {
  const [x0, x1, x2] = [0, 1, 2].map((i) => X.select(1, i));
  return x0.mul(2).tanh().mul(x1.square().neg().exp()).add(x2.mul(0.5)).unsqueeze(1);
});

// Model: 3 → 64 → 64 → 1, LayerNorm + GELU, AdamW with a parameter group without weight decay for biases.
const model = new kiln.nn.Sequential(
  new kiln.nn.Linear(3, 64), new kiln.nn.GELU(),
  new kiln.nn.Linear(64, 64), new kiln.nn.LayerNorm(64), new kiln.nn.GELU(),
  new kiln.nn.Linear(64, 1),
);
const named = [...model.namedParameters()];
const opt = new kiln.optim.AdamW([
  { params: named.filter(([n]) => n.endsWith('weight') && !n.startsWith('3.')).map(([, p]) => p), weightDecay: 0.01 },
  { params: named.filter(([n]) => !(n.endsWith('weight') && !n.startsWith('3.'))).map(([, p]) => p), weightDecay: 0 },
], { lr: 3e-3 });
console.log(`model: ${model.numParameters()} parameters: ${named.map(([n, p]) => `${n} [${p.shape.join(',')}]`).join(', ')}`);

let createdAfterWarmup = 0;
const t0 = performance.now();
for (let step = 0; step <= 300; step++) {
  const loss = kiln.tidy(() => {
    const diff = model.forward(X).sub(target);
    const l = diff.square().mean();
    l.backward();
    opt.step();
    opt.zeroGrad();
    return l;
  });
  if (step === 10) createdAfterWarmup = kiln.memory().buffersCreated;
  if (step % 50 === 0) console.log(`step ${String(step).padStart(3)}  loss ${(await loss.item()).toFixed(5)}`);
  loss.dispose();
}
const secs = (performance.now() - t0) / 1000;
const m = kiln.memory();
console.log(`300 AdamW steps in ${secs.toFixed(1)} s; live tensors ${m.liveTensors}, live ${(m.liveBytes / 1024).toFixed(0)} KiB, ` +
  `GPU buffers created after warm-up: ${m.buffersCreated - createdAfterWarmup}, pipelines compiled: ${m.pipelines}`);

// A fused kernel against its unfused composition of primitive ops (what fusion research compares).
const logits = kiln.randn([256, 1000]);
const fused = await kiln.F.softmax(logits, -1).data();
const unfused = await kiln.F.softmax(logits, -1, { fused: false }).data();
let maxDiff = 0;
for (let i = 0; i < fused.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fused[i] - unfused[i]));
console.log(`softmax over [256, 1000]: fused vs unfused max |difference| ${maxDiff.toExponential(2)}`);
