// Feature-cached accumulation: one step of batchSize 16 in 4 micro-batches gives the same update (w₁ − w₀)
// as one step in a single batch, for every parameter including the logit scales and SigLIP's biases (CLIP
// and ImageBind tiny, also under activation checkpointing); with dropout and DropPath on, pass 2 replays
// pass 1's masks exactly; frozen towers skip pass 2.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { type Weights, build, initialWeights } from '../helpers/train-weights.js';

/** The weights after one step of `cfg` (model and trainer-owned tensors), by name. */
async function oneStep(cfg: kiln.train.TrainConfigInput, dir: string, name: string): Promise<Weights> {
  const out = join(dir, name);
  await kiln.train.fit({ ...cfg, steps: 1, checkpointEvery: 100, logEvery: 1, out });
  const w: Weights = new Map();
  for (const f of ['model.safetensors', 'trainer.safetensors']) {
    const sd = await kiln.io.loadSafetensors(join(out, 'checkpoints/step-1', f));
    for (const [k, t] of sd) {
      if (k !== 'ring' && t.dtype === 'f32') w.set(`${f}:${k}`, (await t.data()) as Float32Array);
      t.dispose();
    }
  }
  return w;
}

// AdamW's first step is lr·g/(|g| + eps): eps 1e-3 (not 1e-6) keeps it from blowing round-off in gradients
// that are zero by symmetry (attention key biases) up to lr-sized noise, which would test Adam, not the
// gradient. lr 0.1 keeps the update far above the weights' float32 spacing.
const norm = (x: ArrayLike<number>): number => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

/** For every trained tensor: ‖Δ_accumulated − Δ_single‖ ≤ 1e-4·‖Δ_single‖, where Δ = w₁ − w₀. */
function expectSameUpdate(w0: Weights, single: Weights, accumulated: Weights, what: string): number {
  let trained = 0;
  for (const [k, a0] of w0) {
    if (!a0.every(Number.isFinite)) continue; // a buffer such as the additive causal mask
    const d1 = single.get(k)!.map((v, i) => v - a0[i]!);
    const dk = accumulated.get(k)!.map((v, i) => v - a0[i]!);
    const n = norm(d1);
    if (n === 0) {
      expect(norm(dk), `${what} ${k}: not trained in one batch, but changed in micro-batches`).toBe(0);
      continue;
    }
    trained++;
    expect(norm(dk.map((v, i) => v - d1[i]!)), `${what} ${k}: ‖Δ‖ = ${n}`).toBeLessThanOrEqual(1e-4 * n);
  }
  return trained;
}

const CLIP = {
  model: { kind: 'clip' as const, config: 'tiny' },
  data: { size: 16, classes: 4 },
  batchSize: 16,
  optimizer: { lr: 0.1, eps: 1e-3, weightDecay: 0 },
  schedule: { kind: 'constant' as const },
} satisfies kiln.train.TrainConfigInput;

const IMAGEBIND = {
  // Stochastic layers off: audio's DropPath (0.1 in tiny) set to 0; the pairs use no IMU head dropout.
  model: { kind: 'imagebind' as const, config: 'tiny', modalities: { audio: { dropPath: 0, logitScale: { learnable: true } } } },
  pairs: [
    { a: 'vision', b: 'text' },
    { a: 'vision', b: 'audio', weight: 0.5 },
  ],
  loss: { kind: 'siglip' as const },
  data: { size: 16, classes: 4 },
  batchSize: 16,
  optimizer: { lr: 0.1, eps: 1e-3, weightDecay: 0 },
  schedule: { kind: 'constant' as const },
} satisfies kiln.train.TrainConfigInput;

/** Each named tensor's gradient, read back; then cleared. */
async function takeGrads(named: readonly [string, kiln.Tensor][]): Promise<Map<string, Float32Array>> {
  const g = new Map<string, Float32Array>();
  for (const [n, p] of named) {
    if (p.grad) g.set(n, (await p.grad.data()) as Float32Array);
    p.grad?.dispose();
    p.grad = null;
  }
  return g;
}

describe('accumulation by feature caching', () => {
  it("gives the full batch's gradients for every parameter; the shared scalars get theirs once, not k times", async () => {
    for (const input of [CLIP, IMAGEBIND]) {
      const { model, loss, named, cfg } = await build(input);
      const pairs = cfg.pairs.length > 0 ? cfg.pairs : model.defaultPairs;
      const modalities = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
      const data = new kiln.train.RandomDataset(Object.fromEntries(modalities.map((m) => [m, model.inputs[m]!])), { size: 16, classes: 4, noise: 0.5, seed: 5 });
      const { inputs } = new kiln.train.Loader(data, 16, 0, modalities).next();
      model.module.train();
      kiln.tidy(() => loss.forward(Object.fromEntries(modalities.map((m) => [m, model.embed(m, inputs[m]!)]))).total.backward());
      const single = await takeGrads(named);
      kiln.tidy(() => void kiln.train.accumulateForwardBackward({ model, loss, modalities, accumulate: 4, frozen: () => false }, inputs));
      const four = await takeGrads(named);
      expect([...four.keys()]).toEqual([...single.keys()]);
      for (const [n, g1] of single) {
        const g4 = four.get(n)!;
        expect(norm(g4.map((v, i) => v - g1[i]!)), `${input.model.kind} ${n}`).toBeLessThanOrEqual(1e-4 * norm(g1));
      }
      const scalars = [...single.keys()].filter((n) => /logit_scale|logit_bias/.test(n));
      expect(scalars.length, input.model.kind).toBeGreaterThanOrEqual(input.model.kind === 'clip' ? 1 : 4);
      for (const t of [...model.extraParams.values(), ...loss.params.values(), ...Object.values(inputs)]) t.dispose();
      model.module.dispose();
    }
  });


  it('CLIP tiny: batchSize 16 in 4 micro-batches updates every parameter, the logit scale included, as one batch; also with gradCheckpointing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-accum-'));
    const cfg = CLIP;
    const w0 = await initialWeights(cfg);
    const single = await oneStep({ ...cfg, accumulate: 1 }, dir, 'single');
    const four = await oneStep({ ...cfg, accumulate: 4 }, dir, 'four');
    const trained = expectSameUpdate(w0, single, four, 'accumulate 4');
    expect(trained).toBe(w0.size);
    expect(norm(single.get('model.safetensors:logit_scale')!.map((v, i) => v - w0.get('model.safetensors:logit_scale')![i]!))).toBeGreaterThan(0);
    const ckpt = await oneStep({ ...cfg, accumulate: 4, gradCheckpointing: true }, dir, 'four-ckpt');
    expectSameUpdate(w0, single, ckpt, 'accumulate 4 + gradCheckpointing');
    rmSync(dir, { recursive: true, force: true });
  });

  it('ImageBind tiny with SigLIP: text and audio scales and both pair biases get their full-batch gradient once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-accum-'));
    const cfg = IMAGEBIND;
    const w0 = await initialWeights(cfg);
    const single = await oneStep(cfg, dir, 'single');
    const four = await oneStep({ ...cfg, accumulate: 4 }, dir, 'four');
    expect(expectSameUpdate(w0, single, four, 'accumulate 4')).toBeGreaterThan(50);
    for (const k of ['model.safetensors:modality_postprocessors.text.1.log_logit_scale', 'trainer.safetensors:modality_postprocessors.audio.1.log_logit_scale', 'trainer.safetensors:loss.vision-text.logit_bias', 'trainer.safetensors:loss.vision-audio.logit_bias'])
      expect(single.get(k)![0], k).not.toBe(w0.get(k)![0]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('with dropout and DropPath on, activation checkpointing inside pass 2 replays the same masks: same gradients', async () => {
    const { model, loss, named } = await build({ model: { kind: 'imagebind', config: 'tiny' }, pairs: [{ a: 'vision', b: 'imu' }] });
    const inputs = { vision: kiln.randn([8, 3, 28, 28]), imu: kiln.randn([8, 6, 32]) };
    const ctx = { model, loss, modalities: ['vision', 'imu'], accumulate: 4, frozen: () => false };
    model.module.train();
    const run = async (): Promise<Map<string, Float32Array>> => {
      kiln.manualSeed(11);
      kiln.tidy(() => void kiln.train.accumulateForwardBackward(ctx, inputs));
      return takeGrads(named);
    };
    const plain = await run();
    const blocks = model.module.modules().filter((m) => m.constructor.name === 'Block');
    expect(blocks.length).toBe(8);
    for (const b of blocks) b.gradCheckpointing = true;
    const checkpointed = await run();
    for (const [n, g] of plain) expect(norm(checkpointed.get(n)!.map((v, i) => v - g[i]!)), n).toBeLessThanOrEqual(1e-5 * norm(g) + 1e-12);
    for (const t of Object.values(inputs)) t.dispose();
    model.module.dispose();
  });

  it('gradCheckpointing from the config turns on checkpointing in every transformer block', async () => {
    for (const [input, blocks] of [
      [{ model: { kind: 'clip' as const, config: 'tiny' } }, 4],
      [{ model: { kind: 'imagebind' as const, config: 'tiny' } }, 8],
    ] as const) {
      const off = await build(input);
      const on = await build({ ...input, gradCheckpointing: true });
      expect(off.model.module.modules().filter((m) => m.gradCheckpointing).length).toBe(0);
      expect(on.model.module.modules().filter((m) => m.gradCheckpointing).length, input.model.kind).toBe(blocks);
      off.model.module.dispose();
      on.model.module.dispose();
    }
  });

  it('replays Dropout and DropPath masks in pass 2; a frozen tower is embedded once (pass 1 only)', async () => {
    // IMU: DropPath 0.7 in its block and Dropout 0.5 in its head, both active in training mode.
    const cfg = await kiln.train.resolveConfig({ model: { kind: 'imagebind', config: 'tiny' }, pairs: [{ a: 'vision', b: 'imu' }], steps: 1 });
    kiln.manualSeed(3);
    const model = await kiln.train.buildModel(cfg);
    const loss = new kiln.train.ContrastiveLoss(cfg.loss, cfg.pairs, model);
    model.module.train();
    const B = 8;
    const k = 4;
    const inputs = { vision: kiln.randn([B, 3, 28, 28]), imu: kiln.randn([B, 6, 32]) };
    const head = model.module.getSubmodule('modality_heads.imu');
    const store = Array.from({ length: 2 * k }, () => kiln.zeros([B / k, 32]));
    let calls = 0;
    const h1 = head.registerForwardHook((_m, _a, out) => void kiln.noGrad(() => store[calls++]?.copy_(out as kiln.Tensor)));
    let visionCalls = 0;
    const h2 = model.module.getSubmodule('modality_heads.vision').registerForwardHook(() => void visionCalls++);
    model.module.getSubmodule('modality_trunks.vision').requiresGrad_(false);
    model.module.getSubmodule('modality_preprocessors.vision').requiresGrad_(false);
    model.module.getSubmodule('modality_heads.vision').requiresGrad_(false);
    const out = kiln.tidy(() => {
      const o = kiln.train.accumulateForwardBackward({ model, loss, modalities: ['vision', 'imu'], accumulate: k, frozen: (m) => m === 'vision' }, inputs);
      return o.total;
    });
    expect(calls).toBe(2 * k); // pass 1 and pass 2
    expect(visionCalls).toBe(k); // pass 1 only
    for (let j = 0; j < k; j++) expect(Array.from(await store[k + j]!.data()), `micro-batch ${j}`).toEqual(Array.from(await store[j]!.data()));
    // The masks are really there: in eval mode (no dropout) the first micro-batch embeds differently.
    h1.remove();
    h2.remove();
    model.module.eval();
    const evalOut = kiln.noGrad(() => model.embed('imu', inputs.imu));
    model.module.train();
    const trainOut = kiln.noGrad(() => model.embed('imu', inputs.imu));
    expect(Array.from(await trainOut.data())).not.toEqual(Array.from(await evalOut.data()));
    // Gradients reached the IMU tower, none the frozen vision tower.
    expect(model.module.getSubmodule('modality_trunks.imu').parameters().every((p) => p.grad !== null)).toBe(true);
    expect(model.module.getSubmodule('modality_trunks.vision').parameters().every((p) => p.grad === null)).toBe(true);
    expect(Number.isFinite(await out.item())).toBe(true);
    for (const t of [out, evalOut, trainOut, ...store, ...Object.values(inputs)]) t.dispose();
    model.module.zeroGrad();
    model.module.dispose();
  });
});
