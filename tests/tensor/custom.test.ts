// A user-defined op (fused bias + GELU) with its own WGSL forward and backward kernels: values against
// float64, gradients against finite differences, tidy, and the pipeline cache.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { randomArray } from '../helpers/random.js';

const common = `
struct P { rows: u32, cols: u32 }
fn gelu(z: f32) -> f32 {
  // tanh form keeps the example short; the exact form would need erf
  return 0.5 * z * (1.0 + tanh(0.7978845608 * (z + 0.044715 * z * z * z)));
}
fn gelu_grad(z: f32) -> f32 {
  let t = tanh(0.7978845608 * (z + 0.044715 * z * z * z));
  return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * 0.7978845608 * (1.0 + 3.0 * 0.044715 * z * z);
}`;

const biasGelu = kiln.customOp({
  name: 'bias_gelu',
  kernels: {
    forward: {
      bindings: ['write', 'read', 'read', 'uniform'],
      code: `${common}
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.rows * p.cols) { return; }
  y[i] = gelu(x[i] + b[i % p.cols]);
}`,
    },
    backward: {
      bindings: ['write', 'read', 'read', 'read', 'uniform'],
      code: `${common}
@group(0) @binding(0) var<storage, read_write> dz: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.rows * p.cols) { return; }
  dz[i] = g[i] * gelu_grad(x[i] + b[i % p.cols]);
}`,
    },
  },
  forward(ctx, x, b) {
    const [rows, cols] = x.shape as [number, number];
    const y = ctx.empty(x.shape);
    ctx.launch('forward', { tensors: [y, x, b], uniforms: Uint32Array.of(rows, cols), workgroups: [Math.ceil((rows * cols) / 64), 1, 1] });
    ctx.save(x, b);
    return y;
  },
  backward(ctx, g) {
    const [x, b] = ctx.saved as [kiln.Tensor, kiln.Tensor];
    const [rows, cols] = x.shape as [number, number];
    const gc = g.contiguous();
    const dz = ctx.empty(x.shape);
    ctx.launch('backward', { tensors: [dz, gc, x, b], uniforms: Uint32Array.of(rows, cols), workgroups: [Math.ceil((rows * cols) / 64), 1, 1] });
    // d/dx = dz; d/db = Σ_rows dz (composed from a built-in op)
    return [dz, ctx.needsInputGrad(1) ? dz.sum(0) : null];
  },
});

describe('customOp', () => {
  it('runs user WGSL forward against float64, and its backward against finite differences', async () => {
    const xs = randomArray(7 * 33, 1);
    const bs = randomArray(33, 2);
    const x = kiln.tensor(Float32Array.from(xs), { shape: [7, 33] });
    const b = kiln.tensor(Float32Array.from(bs));
    const ref = xs.map((v, i) => {
      const z = v + bs[i % 33]!;
      return 0.5 * z * (1 + Math.tanh(0.7978845608 * (z + 0.044715 * z ** 3)));
    });
    expect(await biasGelu(x, b).data()).toBeAllClose(ref, { rtol: 1e-5 });
    // non-contiguous input: the op receives a contiguous copy
    expect(await biasGelu(x.mT.contiguous().mT, b).data()).toBeAllClose(ref, { rtol: 1e-5 });
    await gradcheck((xx, bb) => biasGelu(xx, bb), [{ shape: [3, 4] }, { shape: [4] }]);
    await gradcheck((xx, bb) => biasGelu(xx, bb).mul(xx), [{ shape: [7, 33] }, { shape: [33] }], { mode: 'directions' });
  });

  it('frees its intermediates under tidy and reuses its pipelines', async () => {
    const x = kiln.randn([4, 8], { requiresGrad: true });
    const b = kiln.randn([8], { requiresGrad: true });
    const step = (): void => kiln.tidy(() => biasGelu(x, b).sum().backward());
    step();
    step(); // the second step accumulates into .grad: its add_ is the last new pipeline
    await kiln.flush();
    const before = kiln.memory();
    for (let i = 0; i < 5; i++) step();
    await kiln.flush();
    const after = kiln.memory();
    expect(after.pipelines).toBe(before.pipelines);
    expect(after.liveTensors).toBe(before.liveTensors);
    expect(after.buffersCreated).toBe(before.buffersCreated);
  });

  it('rejects misuse with clear errors', () => {
    const x = kiln.ones([2, 2], { requiresGrad: true });
    const noGradOp = kiln.customOp({ name: 'twice', kernels: {}, forward: (_ctx, t) => t.mul(2) });
    expect(() => noGradOp(x)).toThrow(/customOp 'twice': an input requires grad, but the op has no backward/);
    const bad = kiln.customOp({ name: 'bad', kernels: {}, forward: (ctx, t) => (ctx.launch('nope', { tensors: [t], workgroups: [1, 1, 1] }), t) });
    expect(() => bad(kiln.ones([1]))).toThrow(/customOp 'bad': no kernel 'nope'/);
  });
});
