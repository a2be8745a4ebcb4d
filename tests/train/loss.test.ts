// The pair losses: SigLIP against a float64 reference, and each pair's temperature as the issue states —
// ImageBind's non-image modality's scale (text learnable and clipped at 100, the others fixed unless made
// learnable), never the product of two modalities' scales; CLIP's exp(logit_scale).
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { randomArray } from '../helpers/random.js';

function sigLipRef(a: Float64Array, b: Float64Array, n: number, d: number, t: number, bias: number): number {
  let s = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a[i * d + k]! * b[j * d + k]!;
      const z = (i === j ? 1 : -1) * (t * dot + bias);
      s += -Math.log1p(Math.exp(-z)); // log σ(z)
    }
  return -s / n;
}

describe('pair losses', () => {
  it('SigLIP matches −Σ log σ(y·(t·a·bᵀ + bias)) / N in float64', async () => {
    const [n, d] = [6, 5];
    const a = randomArray(n * d, 1, 0.5);
    const b = randomArray(n * d, 2, 0.5);
    const loss = kiln.train.sigLipLoss(kiln.tensor(Float32Array.from(a), { shape: [n, d] }), kiln.tensor(Float32Array.from(b), { shape: [n, d] }), kiln.full([], 10), kiln.full([], -10));
    const ref = sigLipRef(a, b, n, d, 10, -10);
    expect(Math.abs((await loss.item()) - ref) / ref).toBeLessThan(1e-5);
  });

  it("ImageBind: each pair's temperature is the non-image modality's scale, never a product", async () => {
    const cfg = await kiln.train.resolveConfig({
      model: {
        kind: 'imagebind',
        config: 'tiny',
        layerScale: { type: 'scalar', init: 0.5 },
        modalities: { text: { logitScale: { init: 150 } }, depth: { logitScale: { learnable: true } }, audio: { dropPath: 0.3, logitScale: { init: 7 } } },
      },
      steps: 1,
    });
    const model = await kiln.train.buildModel(cfg);
    const arch = model.architecture as kiln.models.ImageBindConfig;
    expect([arch.audio.dropPath, arch.imu.dropPath, arch.layerScale]).toEqual([0.3, 0.7, { type: 'scalar', init: 0.5 }]);
    expect([...model.module.namedParameters()].filter(([n]) => n.endsWith('layer_scale_gamma1')).length).toBe(2 + 2 + 1 + 1 + 1 + 1);
    const t = async (a: string, b: string): Promise<number> => model.temperature(a, b).item();
    expect(await t('vision', 'text')).toBeCloseTo(100, 4); // learnable, init 150, clipped at 100 in the forward
    expect(await t('vision', 'audio')).toBeCloseTo(7, 4);
    expect(await t('imu', 'vision')).toBeCloseTo(5, 5);
    expect(await t('text', 'thermal')).toBeCloseTo(10, 5); // b's scale, not 100 × 10
    expect([...model.extraParams.keys()]).toEqual(['modality_postprocessors.depth.1.log_logit_scale']);
    const textScale = [...model.module.namedParameters()].find(([n]) => n === 'modality_postprocessors.text.1.log_logit_scale')![1];
    const depthScale = model.extraParams.get('modality_postprocessors.depth.1.log_logit_scale')!;
    const audioScale = [...model.module.namedBuffers()].find(([n]) => n === 'modality_postprocessors.audio.1.log_logit_scale')![1];
    expect([textScale.requiresGrad, depthScale.requiresGrad, audioScale.requiresGrad]).toEqual([true, true, false]);
    // A learned depth scale is written back into the model's buffer for saving under the upstream name.
    kiln.noGrad(() => depthScale.fill_(Math.log(3)));
    model.syncBuffers();
    const depthBuffer = [...model.module.namedBuffers()].find(([n]) => n === 'modality_postprocessors.depth.1.log_logit_scale')![1];
    expect(Math.exp(await depthBuffer.item())).toBeCloseTo(3, 5);
    model.module.dispose();
  });

  it('InfoNCE pairs: total = Σ weight·F.infoNCE(a, b, temperature), and the learnable scale gets a gradient', async () => {
    const cfg = await kiln.train.resolveConfig({ model: { kind: 'imagebind', config: 'tiny' }, pairs: [{ a: 'vision', b: 'text', weight: 1 }, { a: 'vision', b: 'audio', weight: 0.5 }], steps: 1 });
    const model = await kiln.train.buildModel(cfg);
    const loss = new kiln.train.ContrastiveLoss(cfg.loss, cfg.pairs, model);
    const emb = { vision: kiln.F.normalize(kiln.randn([4, 32]), { dim: -1 }), text: kiln.F.normalize(kiln.randn([4, 32]), { dim: -1 }), audio: kiln.F.normalize(kiln.randn([4, 32]), { dim: -1 }) };
    const out = loss.forward(emb);
    const ref0 = await kiln.F.infoNCE(emb.vision, emb.text, kiln.full([], 1 / 0.07), { fused: false }).item();
    const ref1 = await kiln.F.infoNCE(emb.vision, emb.audio, kiln.full([], 20), { fused: false }).item();
    expect(await out.perPair[0]!.item()).toBeCloseTo(ref0, 4);
    expect(await out.perPair[1]!.item()).toBeCloseTo(ref1, 4);
    expect(await out.total.item()).toBeCloseTo(ref0 + 0.5 * ref1, 4);
    out.total.backward();
    const textScale = [...model.module.namedParameters()].find(([n]) => n === 'modality_postprocessors.text.1.log_logit_scale')![1];
    expect(textScale.grad).not.toBeNull();
    expect(Math.abs(await textScale.grad!.item())).toBeGreaterThan(0);
    model.module.dispose();
  });
});
