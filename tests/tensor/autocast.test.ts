// kiln.autocast: which ops produce f16 and which f32, nothing changing outside a region, the parameter-cast
// cache keyed on version and grad mode, gradients reaching f32 parameters, cached cast nodes reused across
// micro-batches, and checkpoint + autocast equal to plain autocast, bitwise.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { autocastCacheSize, autocastParam } from '../../src/tensor/autocast.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

const hasF16 = (): boolean => kiln.deviceInfo().features.includes('shader-f16');
const input = (shape: number[], seed: number, requiresGrad = false): kiln.Tensor =>
  kiln.tensor(Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), seed)), { shape, requiresGrad });
const raw = async (t: kiln.Tensor): Promise<number[]> => Array.from(new Uint32Array((await t.data()).buffer.slice(0)));

/** x + fc2(gelu(fc1(ln(x)))): linear layers (f16 list) between a norm (f32 list) and a residual add. */
class Block extends kiln.nn.Module {
  constructor(width: number, hidden: number) {
    super();
    this.registerModule('ln', new kiln.nn.LayerNorm(width));
    this.registerModule('fc1', new kiln.nn.Linear(width, hidden));
    this.registerModule('fc2', new kiln.nn.Linear(hidden, width));
  }
  forward(x: kiln.Tensor): kiln.Tensor {
    const m = (n: string): kiln.nn.UnaryModule => this.getSubmodule(n) as kiln.nn.UnaryModule;
    return x.add(m('fc2').call(m('fc1').call(m('ln').call(x)).gelu()));
  }
}

const loss = (blocks: readonly Block[], x: kiln.Tensor): kiln.Tensor =>
  kiln.tidy(() => {
    let h = x;
    for (const b of blocks) h = b.call(h);
    return h.square().mean();
  });

async function gradBits(ms: readonly kiln.nn.Module[]): Promise<(number[] | null)[]> {
  const out: (number[] | null)[] = [];
  for (const m of ms) for (const p of m.parameters()) out.push(p.grad ? await raw(p.grad) : null);
  return out;
}

describe('kiln.autocast', () => {
  it('runs the f16 list in f16 and the f32 list in f32; other ops keep their inputs’ dtype', () => {
    if (!hasF16()) return;
    const a = input([5, 8], TEST_SEED);
    const b = input([8, 3], TEST_SEED + 1);
    const img = input([1, 2, 6, 6], TEST_SEED + 2);
    const w = input([4, 2, 3, 3], TEST_SEED + 3);
    const q = input([1, 2, 4, 8], TEST_SEED + 4);
    const labels = kiln.tensor([0, 1, 2, 0, 1], { dtype: 'i32' });
    const dtypes = kiln.tidy(() =>
      kiln.autocast('f16', () => {
        const h = a.matmul(b); // f16
        return {
          matmul: h.dtype,
          linear: kiln.F.linear(a, b.t(), null).dtype,
          conv2d: kiln.F.conv2d(img, w).dtype,
          attention: kiln.F.scaledDotProductAttention(q, q, q).dtype,
          attentionUnfused: kiln.F.scaledDotProductAttention(q, q, q, { fused: false }).dtype,
          layerNorm: kiln.F.layerNorm(h, [3]).dtype,
          softmax: kiln.F.softmax(h, -1).dtype,
          logSoftmax: kiln.F.logSoftmax(h, -1).dtype,
          crossEntropy: kiln.F.crossEntropy(h, labels).dtype,
          infoNCE: kiln.F.infoNCE(h, h, kiln.full([], 10)).dtype,
          sum: h.sum().dtype,
          mean: h.mean(0).dtype,
          exp: h.exp().dtype,
          normalize: kiln.F.normalize(h.mul(1000), { dim: -1 }).dtype,
          gelu: h.gelu().dtype,
          add: h.add(h).dtype,
          promoted: h.add(kiln.ones([3])).dtype,
          disabled: kiln.autocast('f16', () => a.matmul(b).dtype, { enabled: false }),
        };
      }),
    );
    expect(dtypes).toEqual({
      matmul: 'f16', linear: 'f16', conv2d: 'f16', attention: 'f16', attentionUnfused: 'f16',
      layerNorm: 'f32', softmax: 'f32', logSoftmax: 'f32', crossEntropy: 'f32', infoNCE: 'f32', sum: 'f32', mean: 'f32', exp: 'f32', normalize: 'f32',
      gelu: 'f16', add: 'f16', promoted: 'f32', disabled: 'f32',
    });
    // Outside autocast nothing changes: f32 stays f32 and mixed dtypes are still refused.
    expect(kiln.tidy(() => a.matmul(b).dtype)).toBe('f32');
    expect(kiln.isAutocastEnabled()).toBe(false);
    expect(() => kiln.tidy(() => a.half().matmul(b))).toThrow(/matmul: expected both operands to have the same dtype/);
    expect(() => kiln.autocast('bf16' as 'f16', () => 0)).toThrow(/autocast: dtype must be 'f16'/);
    for (const t of [a, b, img, w, q, labels]) t.dispose();
  });

  it('gives f32 parameters f32 gradients close to the f32 run (f16 rounding of the operands: ~1e-3)', async () => {
    if (!hasF16()) return;
    kiln.manualSeed(TEST_SEED);
    const blocks = [new Block(16, 24), new Block(16, 24)];
    const x = input([6, 16], TEST_SEED + 5);
    const ref = loss(blocks, x);
    ref.backward();
    const want = await Promise.all(blocks.flatMap((b) => b.parameters()).map(async (p) => Array.from(await p.grad!.data())));
    for (const b of blocks) b.zeroGrad();
    const l = kiln.autocast('f16', () => loss(blocks, x));
    expect(l.dtype).toBe('f32');
    l.backward();
    const ps = blocks.flatMap((b) => b.parameters());
    for (const [i, p] of ps.entries()) {
      expect(p.dtype).toBe('f32');
      expect(p.grad!.dtype).toBe('f32');
      // f16 has an 11-bit significand: operands round by 2^-11 ≈ 5e-4 relative, through two layers.
      expect(await p.grad!.data()).toBeAllClose(want[i]!, { rtol: 2e-2, atol: 2e-3 });
    }
    expect(autocastCacheSize()).toBe(0); // the outermost region's exit emptied the cache
    for (const b of blocks) b.dispose();
    for (const t of [x, ref, l]) t.dispose();
  });

  it('caches one f16 copy per (parameter, version, grad mode); a no-grad copy has no graph', () => {
    if (!hasF16()) return;
    const fc = new kiln.nn.Linear(8, 4);
    const w = fc.weight;
    kiln.autocast('f16', () => {
      const c1 = autocastParam(w);
      expect(c1.dtype).toBe('f16');
      expect(c1.requiresGrad).toBe(true);
      expect(autocastParam(w)).toBe(c1); // reused within the region
      const n1 = kiln.noGrad(() => autocastParam(w));
      expect(n1).not.toBe(c1); // a no-grad pass gets its own copy…
      expect(n1.requiresGrad).toBe(false); // …without a graph
      expect(kiln.noGrad(() => autocastParam(w))).toBe(n1);
      expect(autocastParam(w)).toBe(c1); // and the grad copy is still the one handed out with grad
      expect(autocastCacheSize()).toBe(2);
      kiln.noGrad(() => w.mul_(1)); // an optimizer step bumps the version
      const c2 = autocastParam(w);
      expect(c2).not.toBe(c1);
      expect(autocastCacheSize()).toBe(1); // the stale copies were freed
      expect(c1.isDisposed && n1.isDisposed).toBe(true);
      expect(autocastParam(kiln.ones([2]))).not.toBe(autocastParam(kiln.ones([2]))); // only parameters are cached
      kiln.tidy(() => fc.call(kiln.ones([3, 8])));
      expect(autocastCacheSize()).toBe(2); // weight (still c2) and bias
    });
    expect(autocastCacheSize()).toBe(0);
    expect(autocastParam(w)).toBe(w); // outside autocast: the parameter itself
    fc.dispose();
  });

  it('reuses a cached cast across micro-batches: gradients bitwise those of separate regions', async () => {
    if (!hasF16()) return;
    kiln.manualSeed(TEST_SEED + 1);
    const blocks = [new Block(12, 20)];
    const xs = [input([4, 12], TEST_SEED + 6), input([4, 12], TEST_SEED + 7)];
    for (const x of xs) kiln.autocast('f16', () => loss(blocks, x)).backward();
    const separate = await gradBits(blocks);
    blocks[0]!.zeroGrad();
    kiln.autocast('f16', () => {
      kiln.noGrad(() => kiln.tidy(() => void loss(blocks, xs[0]!))); // a no-grad pass first (accumulation's pass 1)
      for (const x of xs) loss(blocks, x).backward(); // the second backward walks the first's cast nodes again
    });
    expect(await gradBits(blocks)).toEqual(separate);
    blocks[0]!.dispose();
    for (const t of xs) t.dispose();
  });

  it('checkpoint + autocast equals plain autocast, bitwise, with backward inside or outside the region', async () => {
    if (!hasF16()) return;
    kiln.manualSeed(TEST_SEED + 2);
    const blocks = [new Block(16, 32), new Block(16, 32)];
    const x = input([5, 16], TEST_SEED + 8, true);
    const plain = kiln.autocast('f16', () => loss(blocks, x));
    plain.backward();
    const want = await gradBits(blocks);
    const wantX = await raw(x.grad!);
    for (const outside of [true, false]) {
      for (const b of blocks) {
        b.zeroGrad();
        b.gradCheckpointing = true;
      }
      x.grad = null;
      let l: kiln.Tensor;
      if (outside) {
        l = kiln.autocast('f16', () => loss(blocks, x));
        l.backward(); // the recompute replays autocast from the checkpoint's record
      } else l = kiln.autocast('f16', () => {
          const v = loss(blocks, x);
          v.backward();
          return v;
        });
      expect(await raw(l)).toEqual(await raw(plain));
      expect(await gradBits(blocks)).toEqual(want);
      expect(await raw(x.grad!)).toEqual(wantX);
      l.dispose();
    }
    for (const b of blocks) b.dispose();
    for (const t of [x, plain]) t.dispose();
  });
});
