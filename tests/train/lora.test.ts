// kiln.train.lora on the tiny CLIP: layer selection and freezing, PEFT's init, the adapter's forward against
// a float64 reference, gradients reaching upstream adapters through the frozen base, a loss that falls,
// merge ≡ unmerged forward after training, unmerge restoring the base, save → load, and peak memory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray, rng } from '../helpers/random.js';

const { lora } = kiln.train;
const B = 8;

const rand = (shape: number[], seed: number, scale = 1): kiln.Tensor =>
  kiln.tensor(Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), seed, scale)), { shape });

async function tinyClip(seed: number): Promise<kiln.models.ClipModel> {
  kiln.manualSeed(seed);
  return new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'));
}

/** Images and token ids of B samples (ids 1…62, the end token 63 last, as argmax pooling expects). */
function batch(seed: number): { images: kiln.Tensor; ids: kiln.Tensor } {
  const r = rng(seed);
  const ids = Int32Array.from({ length: B * 8 }, (_, i) => (i % 8 === 7 ? 63 : 1 + Math.floor(r() * 62)));
  return { images: rand([B, 3, 28, 28], seed + 1), ids: kiln.tensor(ids, { shape: [B, 8] }) };
}

function clipLoss(model: kiln.models.ClipModel, x: { images: kiln.Tensor; ids: kiln.Tensor }): kiln.Tensor {
  const out = model.forward(x.images, x.ids);
  const loss = kiln.F.infoNCE(out.imageFeatures, out.textFeatures, out.logitScale);
  for (const t of [out.imageFeatures, out.textFeatures, out.logitScale]) t.dispose();
  return loss;
}

const TARGETS = ['attn.q_proj', 'attn.k_proj', 'attn.v_proj', 'attn.out_proj', 'mlp.c_fc'];

describe('lora.apply', () => {
  it('adapts the chosen layers of the chosen tower and blocks, freezes the rest, and starts as the identity change', async () => {
    const model = await tinyClip(TEST_SEED);
    const x = batch(TEST_SEED + 10);
    const before = await model.encodeText(x.ids).data();
    const info = lora.apply(model, { rank: 4, alpha: 8, targets: TARGETS, towers: ['text'] });
    // In module order (MultiheadAttention registers out_proj before q_proj, k_proj, v_proj).
    expect(info.paths).toEqual([0, 1].flatMap((b) => ['out_proj', 'q_proj', 'k_proj', 'v_proj'].map((n) => `transformer.resblocks.${b}.attn.${n}`).concat(`transformer.resblocks.${b}.mlp.c_fc`)));
    expect(lora.selectPaths(model, { targets: ['attn.v_proj'], towers: ['image'], blocks: [1] })).toEqual(['visual.transformer.resblocks.1.attn.v_proj']);
    // Only adapters train; base names are upstream's still (out_proj.weight stays out_proj.weight).
    const trainable = [...model.namedParameters()].filter(([, t]) => t.requiresGrad).map(([n]) => n);
    expect(trainable.length).toBe(20);
    expect(trainable.every((n) => /\.lora_[AB]\.weight$/.test(n))).toBe(true);
    const keys = [...model.stateDict().keys()];
    expect(keys).toContain('transformer.resblocks.0.attn.out_proj.weight');
    expect(keys).toContain('transformer.resblocks.0.attn.in_proj_weight');
    expect(keys).toContain('transformer.resblocks.0.attn.q_proj.lora_A.weight');
    // PEFT's init: A ~ kaiming_uniform(a=√5) = U(±1/√in), B = 0, so the model computes what it did.
    const a = await info.params.get('transformer.resblocks.0.attn.q_proj.lora_A.weight')!.data();
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(32));
    expect(new Set(a).size).toBeGreaterThan(100);
    expect([...(await info.params.get('transformer.resblocks.0.attn.q_proj.lora_B.weight')!.data())].every((v) => v === 0)).toBe(true);
    expect(await model.encodeText(x.ids).data()).toBeAllClose(before, { rtol: 1e-6 });
    expect(() => lora.apply(model, { targets: ['attn.q_proj'] })).toThrow(/already has an adapter/);
    expect(() => lora.apply(model, { targets: ['attn.nope'] })).toThrow(/target 'attn\.nope' matches no Linear/);
    expect(() => lora.apply(model, { rank: 0, targets: ['attn.q_proj'] })).toThrow(/rank must be a positive integer, got 0/);
    model.dispose();
    for (const t of Object.values(x)) t.dispose();
  });

  it("an adapter's forward is x·Wᵀ + b + (α/r)·x·Aᵀ·Bᵀ (float64 reference)", async () => {
    const base = new kiln.nn.Linear(6, 5);
    const m = new kiln.nn.Module();
    m.registerModule('fc', base);
    lora.apply(m, { rank: 3, alpha: 6, targets: ['fc'] });
    const ad = m.getSubmodule('fc') as kiln.train.lora.LoraLinear;
    ad.loraB.weight.requiresGrad_(false).copy_(rand([5, 3], TEST_SEED + 20)).requiresGrad_(true);
    const x = rand([4, 6], TEST_SEED + 21);
    const [xs, w, b, A, Bw] = await Promise.all([x, ad.baseWeight(), base.bias!, ad.loraA.weight, ad.loraB.weight].map((t) => t.data()));
    const ref = new Float64Array(20);
    for (let i = 0; i < 4; i++)
      for (let o = 0; o < 5; o++) {
        let s = b![o]!;
        for (let k = 0; k < 6; k++) s += xs![i * 6 + k]! * w![o * 6 + k]!;
        for (let r = 0; r < 3; r++) {
          let ax = 0;
          for (let k = 0; k < 6; k++) ax += xs![i * 6 + k]! * A![r * 6 + k]!;
          s += 2 * Bw![o * 3 + r]! * ax;
        }
        ref[o + i * 5] = s;
      }
    expect(await ad.call(x).data()).toBeAllClose(ref, { rtol: 1e-6 });
    m.dispose();
    x.dispose();
  });
});

describe('training with adapters', () => {
  it('only adapters get gradients and optimizer state; the frozen base passes gradients upstream; the loss falls; merge ≡ unmerged; unmerge restores; save → load equals', async () => {
    const model = await tinyClip(TEST_SEED + 1);
    const inProj0 = await model.getSubmodule('transformer.resblocks.0.attn').stateDict().get('in_proj_weight')!.data();
    const fc1 = await (model.getSubmodule('transformer.resblocks.1.mlp.c_fc') as kiln.nn.Linear).weight.data();
    const info = lora.apply(model, { rank: 4, alpha: 8, targets: TARGETS, towers: ['text'] });
    const x = batch(TEST_SEED + 30);
    const opt = new kiln.optim.AdamW([...info.params.values()], { lr: 3e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let s = 0; s < 8; s++) {
      const loss = clipLoss(model, x);
      loss.backward();
      if (s === 1) {
        // B ≠ 0 after one step: block 0's A (upstream of block 1 and the frozen layers between) gets a gradient.
        expect(model.parameters().filter((p) => !p.requiresGrad).every((p) => p.grad === null)).toBe(true);
        const gA = await info.params.get('transformer.resblocks.0.attn.q_proj.lora_A.weight')!.grad!.data();
        expect(Math.max(...gA.map(Math.abs))).toBeGreaterThan(0);
      }
      opt.step();
      opt.zeroGrad();
      losses.push(await loss.item());
      loss.dispose();
    }
    expect(opt.stateDict().state.size).toBe(info.params.size);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.9);
    opt.dispose();

    // After training: merged forward equals unmerged within 1e-5 norm-wise.
    model.eval();
    const unmerged = await model.encodeText(x.ids).data();
    lora.merge(model);
    expect(await model.encodeText(x.ids).data()).toBeAllClose(unmerged, { rtol: 1e-5 });
    const mergedInProj = await model.getSubmodule('transformer.resblocks.0.attn').stateDict().get('in_proj_weight')!.data();
    expect(mergedInProj).not.toBeAllClose(inProj0, { rtol: 1e-4 });
    expect(() => lora.merge(model)).toThrow(/already merged/);
    lora.unmerge(model);
    expect(await model.getSubmodule('transformer.resblocks.0.attn').stateDict().get('in_proj_weight')!.data()).toBeAllClose(inProj0, { rtol: 1e-6 });
    expect(await (model.getSubmodule('transformer.resblocks.1.mlp.c_fc') as kiln.train.lora.LoraLinear).baseWeight().data()).toBeAllClose(fc1, { rtol: 1e-6 });

    // Save only the adapters, load them onto a fresh base of the same weights: the same forward.
    const dir = mkdtempSync(join(tmpdir(), 'kiln-lora-'));
    const file = join(dir, 'adapter.safetensors');
    await lora.save(model, file, { baseWeights: 'base.safetensors' });
    const header = await kiln.io.listSafetensors(file);
    expect(header.tensors.map((t) => t.name).sort()).toEqual([...info.params.keys()].sort());
    const h = await lora.readHeader(dir);
    expect(h.spec).toMatchObject({ rank: 4, alpha: 8, targets: TARGETS, towers: ['text'] });
    expect(h.paths).toEqual(info.paths);
    expect(h.base).toEqual({ config: model.config, weights: 'base.safetensors' });
    const fresh = await tinyClip(TEST_SEED + 1);
    await lora.load(fresh, dir);
    fresh.eval();
    expect(await fresh.encodeText(x.ids).data()).toBeAllClose(unmerged, { rtol: 1e-6 });
    const other = new kiln.models.ClipModel({ ...model.config, embedDim: 16 });
    await expect(lora.load(other, dir)).rejects.toThrow(/another base model config/);
    for (const m of [model, fresh, other]) m.dispose();
    for (const t of Object.values(x)) t.dispose();
  });

  it("a LoRA step's peak memory is below a full fine-tuning step's (measured)", async () => {
    const cfg = kiln.models.clipConfig({ ...(await kiln.models.loadClipConfig('tiny')), text: { contextLength: 8, vocabSize: 64, width: 128, heads: 2, layers: 4, mlpRatio: 4 } });
    const peak = async (useLora: boolean): Promise<number> => {
      kiln.manualSeed(TEST_SEED);
      const model = new kiln.models.ClipModel(cfg);
      const params = useLora ? [...lora.apply(model, { rank: 4, targets: ['attn.q_proj', 'attn.v_proj'], towers: ['text'] }).params.values()] : model.parameters();
      const opt = new kiln.optim.AdamW(params, { lr: 1e-3 });
      const x = batch(TEST_SEED + 40);
      await kiln.flush();
      kiln.resetPeakMemory();
      const before = kiln.memory().liveBytes;
      // One step: gradients, the optimizer's state (created at the first step) and the activations.
      kiln.tidy(() => {
        clipLoss(model, x).backward();
        opt.step();
        opt.zeroGrad();
      });
      await kiln.flush();
      const p = kiln.memory().peakBytes - before;
      opt.dispose();
      model.dispose();
      for (const t of Object.values(x)) t.dispose();
      return p;
    };
    const full = await peak(false);
    const adapted = await peak(true);
    console.log(`peak memory over a step above the model: full fine-tuning ${(full / 1024).toFixed(0)} KiB, LoRA r=4 on text q,v ${(adapted / 1024).toFixed(0)} KiB`);
    expect(adapted).toBeLessThan(full * 0.6);
  });
});
