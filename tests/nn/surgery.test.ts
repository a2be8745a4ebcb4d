// Deferred (meta) construction, assign-loading, module surgery and forward hooks: what the trainer, LoRA
// and activation checkpointing reach every layer through.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

const rand = (shape: number[], seed: number, opts: { requiresGrad?: boolean } = {}): kiln.Tensor =>
  kiln.tensor(Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), seed)), { shape, ...opts });

/** x·Wᵀ + b in float64 for x [n, in], W [out, in]. */
function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, n: number, inF: number, outF: number): Float64Array {
  const y = new Float64Array(n * outF);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let k = 0; k < inF; k++) s += x[i * inF + k]! * w[o * inF + k]!;
      y[i * outF + o] = s;
    }
  return y;
}

async function bits(m: kiln.nn.Module): Promise<Map<string, Uint32Array>> {
  const out = new Map<string, Uint32Array>();
  for (const [k, t] of m.stateDict()) {
    const raw = await t.rawData();
    out.set(k, new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
  }
  return out;
}

/** A small model using every kiln.nn layer with parameters. */
function zoo(opts: kiln.nn.FactoryOptions): kiln.nn.Module {
  const m = new kiln.nn.Module();
  m.registerModule('emb', new kiln.nn.Embedding(11, 8, opts));
  m.registerModule('conv', new kiln.nn.Conv2d(3, 8, 2, { ...opts, stride: 2 }));
  m.registerModule('conv3', new kiln.nn.Conv3d(2, 4, [1, 2, 2], { ...opts, bias: false }));
  m.registerModule('attn', new kiln.nn.MultiheadAttention(8, 2, { ...opts, addBiasKV: true, batchFirst: true }));
  m.registerModule('mlp', new kiln.nn.Sequential(new kiln.nn.Linear(8, 13, opts), new kiln.nn.GELU(), new kiln.nn.LayerNorm(13, 1e-5, opts), new kiln.nn.Linear(13, 8, { ...opts, bias: false })));
  return m;
}

describe('deferred construction (meta device)', () => {
  it('allocates nothing, and any op on a meta parameter names the op and the parameter', () => {
    const before = kiln.memory().liveBytes;
    const m = zoo({ device: 'meta' });
    expect(kiln.memory().liveBytes).toBe(before);
    expect(m.parameters().every((p) => p.isMeta && p.requiresGrad)).toBe(true);
    const x = kiln.ones([2, 8]);
    const lin = m.getSubmodule('mlp.0') as kiln.nn.Linear;
    expect(() => lin.call(x)).toThrow(/'mlp\.0\.weight' \[13,8\] \(f32\) is a meta tensor/);
    expect(() => (m.getSubmodule('attn') as kiln.nn.MultiheadAttention).outProj.weight.add(1)).toThrow(/'attn\.out_proj\.weight'.*meta tensor/);
    expect(() => m.resetParameters()).toThrow(/resetParameters: 'emb\.weight' is still on the meta device; call toEmpty\(\) first/);
    x.dispose();
  });

  it('toEmpty() + resetParameters() draws the same numbers as eager construction: bitwise equal weights', async () => {
    kiln.manualSeed(TEST_SEED);
    const eager = zoo({});
    const deferred = zoo({ device: 'meta' });
    kiln.manualSeed(TEST_SEED);
    deferred.toEmpty().resetParameters();
    expect(deferred.parameters().some((p) => p.isMeta)).toBe(false);
    expect(await bits(deferred)).toEqual(await bits(eager));
    eager.dispose();
    deferred.dispose();
  });

  it('ImageBind and CLIP built on the meta device materialise bitwise equal to eager models', async () => {
    for (const build of [
      async (o: kiln.models.BuildOptions) => new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'), o),
      async (o: kiln.models.BuildOptions) => new kiln.models.ImageBindModel(await kiln.models.loadImageBindConfig('tiny'), o),
    ]) {
      const meta = await build({ device: 'meta' });
      kiln.manualSeed(TEST_SEED + 1);
      const eager = await build({});
      kiln.manualSeed(TEST_SEED + 1);
      meta.toEmpty().resetParameters();
      expect(await bits(meta)).toEqual(await bits(eager));
      meta.dispose();
      eager.dispose();
    }
  });
});

describe('loadStateDict with assign', () => {
  it('installs the given tensors without a copy, keeping requiresGrad, and forward uses them', async () => {
    const lin = new kiln.nn.Linear(5, 3, { device: 'meta' });
    lin.bias!.requiresGrad_(false); // frozen: assign keeps the module's flag
    const w = rand([3, 5], TEST_SEED);
    const b = rand([3], TEST_SEED + 1);
    lin.loadStateDict({ weight: w, bias: b }, { assign: true });
    expect(lin.weight).toBe(w);
    expect(lin.bias).toBe(b);
    expect(lin.weight.requiresGrad).toBe(true);
    expect(lin.bias!.requiresGrad).toBe(false);
    const x = rand([4, 5], TEST_SEED + 2);
    const y = lin.call(x);
    expect(await y.data()).toBeAllClose(linearRef(await x.data(), await w.data(), await b.data(), 4, 5, 3), { rtol: 1e-6 });
    lin.dispose();
    for (const t of [x, y]) t.dispose();
  });

  it('converts a non-contiguous, offset or other-dtype tensor into a contiguous offset-0 leaf of the module dtype', async () => {
    const lin = new kiln.nn.Linear(4, 3, { bias: false });
    const big = rand([6, 5], TEST_SEED + 3);
    for (const given of [big.transpose(0, 1).narrow(0, 0, 3).narrow(1, 0, 4), big.narrow(0, 1, 3).narrow(1, 1, 4)]) {
      expect(given.isContiguous() && given.offset === 0).toBe(false);
      const ref = await given.data();
      lin.loadStateDict({ weight: given }, { assign: true });
      expect(lin.weight.isContiguous() && lin.weight.offset === 0 && lin.weight.isLeaf && lin.weight.requiresGrad).toBe(true);
      expect(Array.from(await lin.weight.data())).toEqual(Array.from(ref));
    }
    const half = rand([3, 4], TEST_SEED + 4).cast('f16');
    const halfRef = await half.data();
    lin.loadStateDict({ weight: half }, { assign: true });
    expect(lin.weight.dtype).toBe('f32');
    expect(Array.from(await lin.weight.data())).toEqual(Array.from(halfRef));
    lin.dispose();
    big.dispose();
  });

  it('copies without assign (and refuses to copy into a meta tensor, pointing at assign)', async () => {
    const lin = new kiln.nn.Linear(2, 2);
    const w0 = lin.weight;
    const w = rand([2, 2], TEST_SEED + 5);
    lin.loadStateDict({ weight: w, bias: kiln.zeros([2]) });
    expect(lin.weight).toBe(w0);
    expect(Array.from(await lin.weight.data())).toEqual(Array.from(await w.data()));
    const meta = new kiln.nn.Linear(2, 2, { device: 'meta' });
    expect(() => meta.loadStateDict({ weight: w, bias: kiln.zeros([2]) })).toThrow(/copy_.*meta tensor.*assign: true/);
    lin.dispose();
    w.dispose();
  });

  it('an optimizer built before an assign-load refuses to step on the replaced parameters, saying why', () => {
    const lin = new kiln.nn.Linear(3, 2);
    const opt = new kiln.optim.AdamW(lin.parameters(), { lr: 0.1 });
    lin.loadStateDict({ weight: rand([2, 3], TEST_SEED + 11), bias: rand([2], TEST_SEED + 12) }, { assign: true });
    const loss = lin.call(kiln.ones([1, 3])).sum();
    loss.backward();
    expect(() => opt.step()).toThrow(/AdamW\.step: parameter 0 \[2,3\] was disposed \(replaced by loading weights with assign\?\); build the optimizer after loading/);
    lin.dispose();
    loss.dispose();
  });

  it('kiln.models.loadWeights streams into any Module', async () => {
    const m = new kiln.nn.Sequential(new kiln.nn.Linear(3, 4, { device: 'meta' }), new kiln.nn.Linear(4, 2, { device: 'meta', bias: false }));
    const src = [['0.weight', rand([4, 3], 1)], ['0.bias', rand([4], 2)], ['1.weight', rand([2, 4], 3)]] as const;
    const seen: number[] = [];
    const r = await kiln.models.loadWeights(m, src, { onProgress: (p) => seen.push(p.done) });
    expect(r.loaded).toEqual(['0.weight', '0.bias', '1.weight']);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(m.parameters().some((p) => p.isMeta)).toBe(false);
    const y = m.call(kiln.ones([1, 3]));
    expect((await y.data()).every(Number.isFinite)).toBe(true);
    m.dispose();
  });
});

describe('module surgery', () => {
  it('getSubmodule / setSubmodule by dotted path, and forward runs the replacement', async () => {
    const m = new kiln.nn.Sequential(new kiln.nn.Linear(4, 4), new kiln.nn.Sequential(new kiln.nn.Identity(), new kiln.nn.Linear(4, 2)));
    expect(m.getSubmodule('1.1')).toBeInstanceOf(kiln.nn.Linear);
    expect(() => m.getSubmodule('1.7')).toThrow(/getSubmodule: Sequential at '1' has no submodule '7' \(path '1\.7'\)/);
    const x = rand([3, 4], TEST_SEED + 6);
    const y0 = await m.call(x).data();
    const first = m.getSubmodule('0') as kiln.nn.Linear;
    const h = linearRef(await x.data(), await first.weight.data(), await first.bias!.data(), 3, 4, 4);
    const repl = new kiln.nn.Linear(4, 2);
    m.setSubmodule('1.1', repl);
    expect(m.getSubmodule('1.1')).toBe(repl);
    expect([...m.stateDict().keys()]).toEqual(['0.weight', '0.bias', '1.1.weight', '1.1.bias']);
    const y1 = await m.call(x).data();
    expect(y1).toBeAllClose(linearRef(h, await repl.weight.data(), await repl.bias!.data(), 3, 4, 2), { rtol: 1e-5 });
    expect(Array.from(y1)).not.toEqual(Array.from(y0));
    expect(() => m.setSubmodule('0.weight', repl)).toThrow(/'0\.weight' is a parameter or buffer/);
    m.dispose();
    x.dispose();
  });

  it("MultiheadAttention's q, k, v projections are separately replaceable; state-dict names stay upstream's", async () => {
    const E = 8;
    const mha = new kiln.nn.MultiheadAttention(E, 2, { batchFirst: true });
    expect([...mha.stateDict().keys()]).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    const x = rand([2, 5, E], TEST_SEED + 7);
    const fused = await mha.call(x, x, x).output.data();
    // A pass-through wrapper takes the unpacked path: the same result as the packed matmul.
    class Wrap extends kiln.nn.Module {
      constructor(base: kiln.nn.Module, readonly delta: number) {
        super();
        this.registerModule('base', base);
      }
      forward(t: kiln.Tensor): kiln.Tensor {
        const y = this.getSubmodule('base') as kiln.nn.InProjection;
        return this.delta === 0 ? y.call(t) : y.call(t).add(this.delta);
      }
    }
    mha.setSubmodule('v_proj', new Wrap(mha.getSubmodule('v_proj'), 0));
    expect(await mha.call(x, x, x).output.data()).toBeAllClose(fused, { rtol: 1e-6 });
    mha.setSubmodule('v_proj', new Wrap(mha.getSubmodule('v_proj.base'), 0.5));
    // Adding 0.5 to every value row adds out_proj(0.5·1) to every output (softmax rows sum to one).
    const w = await mha.outProj.weight.data();
    const shift = Array.from({ length: E }, (_, o) => Array.from({ length: E }, (_, k) => 0.5 * w[o * E + k]!).reduce((a, b) => a + b, 0));
    const expected = Float64Array.from(fused, (v, i) => v + shift[i % E]!);
    expect(await mha.call(x, x, x).output.data()).toBeAllClose(expected, { rtol: 1e-5 });
    expect([...mha.stateDict().keys()]).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    mha.dispose();
    x.dispose();
  });
});

describe('forward hooks', () => {
  it('pre-hooks replace arguments, hooks replace outputs, remove() detaches them', async () => {
    const lin = new kiln.nn.Linear(3, 2);
    const x = rand([1, 3], TEST_SEED + 8);
    const y0 = await lin.call(x).data();
    const pre = lin.registerForwardPreHook((_m, args) => [(args[0] as kiln.Tensor).mul(2)]);
    const y1 = await lin.call(x).data();
    const b = await lin.bias!.data();
    expect(y1).toBeAllClose(Float64Array.from(y0, (v, i) => 2 * v - b[i]!), { rtol: 1e-5 });
    pre.remove();
    const post = lin.registerForwardHook((_m, _args, out) => (out as kiln.Tensor).neg());
    expect(await lin.call(x).data()).toBeAllClose(Float64Array.from(y0, (v) => -v), { rtol: 1e-6 });
    post.remove();
    expect(Array.from(await lin.call(x).data())).toEqual(Array.from(y0));
    lin.dispose();
  });

  it('reach every layer of a model: hooks on each Linear of tiny CLIP fire once per call', async () => {
    const model = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'));
    const calls = new Map<string, number>();
    const handles = [...model.namedModules()]
      .filter(([, m]) => m instanceof kiln.nn.Linear || m instanceof kiln.nn.LayerNorm || m instanceof kiln.nn.MultiheadAttention)
      .map(([name, m]) => m.registerForwardHook(() => void calls.set(name, (calls.get(name) ?? 0) + 1)));
    const cfg = model.config;
    const ids = kiln.tensor(Int32Array.from({ length: 2 * cfg.text.contextLength }, (_, i) => (i % cfg.text.contextLength === 3 ? cfg.text.vocabSize - 1 : 1)), { shape: [2, cfg.text.contextLength], dtype: 'i32' });
    const img = rand([2, 3, cfg.vision.imageSize, cfg.vision.imageSize], TEST_SEED + 9);
    kiln.tidy(() => model.forward(img, ids));
    expect(calls.size).toBe(handles.length);
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
    for (const h of handles) h.remove();
    model.dispose();
    for (const t of [ids, img]) t.dispose();
  });
});
