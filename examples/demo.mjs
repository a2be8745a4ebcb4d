// Kiln demo: trains a small MLP on a synthetic regression task with hand-written autograd and SGD,
// all on the WebGPU device, and shows that a training step allocates no new GPU buffers after warm-up.
// Run: npm run demo
import * as kiln from 'kiln';

const info = await kiln.init();
console.log(`device: ${info.description || info.vendor} (${info.architecture}); features: ${info.features.join(', ')}`);
kiln.manualSeed(0);

// Data: y = tanh(2·x0)·exp(−x1²) + 0.5·x2 on 512 random points, computed on the GPU.
const N = 512;
const X = kiln.uniform([N, 3], -1.5, 1.5);
const target = kiln.tidy(() => {
  const [x0, x1, x2] = [0, 1, 2].map((i) => X.select(1, i));
  return x0.mul(2).tanh().mul(x1.mul(x1).neg().exp()).add(x2.mul(0.5)).unsqueeze(1);
});

// Model: 3 → 64 → 64 → 1 with tanh.
const H = 64;
const init = (rows, cols) => kiln.randn([rows, cols]).mul(Math.sqrt(1 / rows)).detach().requiresGrad_(true);
const params = [init(3, H), kiln.zeros([H], { requiresGrad: true }), init(H, H), kiln.zeros([H], { requiresGrad: true }), init(H, 1), kiln.zeros([1], { requiresGrad: true })];
const [W1, b1, W2, b2, W3, b3] = params;

const forward = (x) => x.matmul(W1).add(b1).tanh().matmul(W2).add(b2).tanh().matmul(W3).add(b3);
const lr = 0.05;
let createdAfterWarmup = 0;
const t0 = performance.now();
for (let step = 0; step <= 300; step++) {
  const loss = kiln.tidy(() => {
    const diff = forward(X).sub(target);
    const l = diff.mul(diff).mean();
    l.backward();
    kiln.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad.mul(lr));
        p.grad.zero_();
      }
    });
    return l;
  });
  if (step === 10) createdAfterWarmup = kiln.memory().buffersCreated;
  if (step % 50 === 0) console.log(`step ${String(step).padStart(3)}  loss ${(await loss.item()).toFixed(5)}`);
  loss.dispose();
}
const secs = (performance.now() - t0) / 1000;
const m = kiln.memory();
console.log(`300 steps in ${secs.toFixed(1)} s; live tensors ${m.liveTensors}, live ${(m.liveBytes / 1024).toFixed(0)} KiB, ` +
  `GPU buffers created after warm-up: ${m.buffersCreated - createdAfterWarmup}, pipelines compiled: ${m.pipelines}`);
