// f16 inference: CLIP and ImageBind (tiny) built with { dtype: 'f16' }, loaded from the parity fixtures'
// f32 weights (cast on loading, half the memory), run end to end in f16 on f32 inputs, and compared with
// PyTorch's f32 embeddings of the same fixtures.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { iterateSafetensors, loadSafetensors } from '../../src/io/safetensors.js';
import { fixtureTensor, modelFixture } from '../helpers/fixtures.js';

const hasF16 = (): boolean => kiln.deviceInfo().features.includes('shader-f16');

/**
 * The smallest cosine between matching rows of two [B, E] embeddings. The bound asserted below, 0.99999, is
 * a norm-wise relative error ε ≤ 4.5e-3 per embedding (cos ≈ 1 − ε²/2): about 9 f16 roundings' worth
 * (U = 2^-11 each) accumulated through the tiny models (1–2 blocks per tower), with layerNorm, softmax,
 * attention and the final normalisation computing in f32. Measured on these fixtures: ≥ 0.9999993 (ε ≈ 1.1e-3).
 */
function minCosine(a: ArrayLike<number>, b: ArrayLike<number>, rows: number): number {
  const e = a.length / rows;
  let worst = 1;
  for (let r = 0; r < rows; r++) {
    let [d, x, y] = [0, 0, 0];
    for (let i = r * e; i < (r + 1) * e; i++) {
      d += a[i]! * b[i]!;
      x += a[i]! ** 2;
      y += b[i]! ** 2;
    }
    worst = Math.min(worst, d / Math.sqrt(x * y));
  }
  return worst;
}

const COSINE = 0.99999;

/** Live bytes a loaded model holds: built on the meta device, then loaded from the fixture. */
async function loaded<M extends kiln.nn.Module & { loadWeights(s: ReturnType<typeof iterateSafetensors>): Promise<unknown> }>(make: () => M, file: string): Promise<{ model: M; bytes: number }> {
  const before = kiln.memory().liveBytes;
  const model = make();
  await model.loadWeights(iterateSafetensors(modelFixture(file)));
  model.eval();
  return { model, bytes: kiln.memory().liveBytes - before };
}

describe('f16 inference on the parity fixtures', () => {
  it('CLIP tiny: f16 weights in half the memory, image and text embeddings within cosine 0.99999 of f32', async () => {
    if (!hasF16()) return;
    const cfg = await kiln.models.loadClipConfig('tiny');
    const f32 = await loaded(() => new kiln.models.ClipModel(cfg, { device: 'meta' }), 'clip_tiny.weights.safetensors');
    f32.model.dispose();
    const { model, bytes } = await loaded(() => new kiln.models.ClipModel(cfg, { device: 'meta', dtype: 'f16' }), 'clip_tiny.weights.safetensors');
    for (const [name, t] of model.stateDict()) expect(t.dtype, name).toBe('f16');
    // GPU bytes held (pool buffers, whose size buckets round small tensors up): half of f32's, to 3%
    expect(bytes / f32.bytes).toBeGreaterThanOrEqual(0.5);
    expect(bytes / f32.bytes).toBeLessThan(0.53);
    const io = await loadSafetensors(modelFixture('clip_tiny.io.safetensors'));
    const images = fixtureTensor(io, 'input.images'); // f32: the model casts it to its weights' dtype
    const ids = fixtureTensor(io, 'input.ids');
    const img = model.encodeImage(images);
    const txt = model.encodeText(ids);
    expect(img.dtype).toBe('f16');
    expect(minCosine(await img.data(), await fixtureTensor(io, 'output.image').data(), images.shape[0]!)).toBeGreaterThan(COSINE);
    expect(minCosine(await txt.data(), await fixtureTensor(io, 'output.text').data(), ids.shape[0]!)).toBeGreaterThan(COSINE);
    // normalised features: the norm is taken in f32, the unit vectors stored in f16
    const unit = model.encodeImage(images.half(), { normalize: true });
    const u = Float64Array.from(await unit.data());
    const E = unit.shape[1]!;
    for (let r = 0; r < unit.shape[0]!; r++) {
      let ss = 0;
      for (let i = r * E; i < (r + 1) * E; i++) ss += u[i]! ** 2;
      expect(Math.sqrt(ss)).toBeCloseTo(1, 3);
    }
    for (const t of [img, txt, unit, ...io.values()]) t.dispose();
    model.dispose();
  });

  it('ImageBind tiny: every modality in f16 within cosine 0.99999 of f32', async () => {
    if (!hasF16()) return;
    const cfg = await kiln.models.loadImageBindConfig('tiny');
    const f32 = await loaded(() => new kiln.models.ImageBindModel(cfg, { deferInit: true }), 'imagebind_tiny.weights.safetensors');
    f32.model.dispose();
    const { model, bytes } = await loaded(() => new kiln.models.ImageBindModel(cfg, { deferInit: true, dtype: 'f16' }), 'imagebind_tiny.weights.safetensors');
    for (const [name, t] of model.stateDict()) expect(t.dtype, name).toBe('f16');
    expect(bytes / f32.bytes).toBeGreaterThanOrEqual(0.5);
    expect(bytes / f32.bytes).toBeLessThan(0.53);
    const io = await loadSafetensors(modelFixture('imagebind_tiny.io.safetensors'));
    const inputs = Object.fromEntries(kiln.models.MODALITIES.map((m) => [m, fixtureTensor(io, `input.${m}`)]));
    const out = model.forward(inputs);
    for (const m of kiln.models.MODALITIES) {
      const got = out[m]!;
      expect(got.dtype, m).toBe('f16');
      expect(minCosine(await got.data(), await fixtureTensor(io, `output.${m}`).data(), got.shape[0]!), m).toBeGreaterThan(COSINE);
      got.dispose();
    }
    for (const t of io.values()) t.dispose();
    model.dispose();
  });
});
