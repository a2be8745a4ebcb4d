// ONNX Runtime (onnxruntime-node) with its WebGPU execution provider as a bench engine. The provider brings
// its own Dawn (not navigator.gpu), on the same physical adapter. Inputs are JS tensors passed to
// session.run, so a run includes their upload: ORT's Node API has no way to keep inputs on the GPU.

import ort from 'onnxruntime-node';
import { layerNormModel, matmulModel, softmaxModel } from '../../lib/onnx-model.mjs';
import { NORM_EPS } from '../../lib/norm-problems.mjs';
import { shapeA, shapeB } from '../../lib/problems.mjs';
import { pkgVersion } from './version.mjs';

const version = pkgVersion('onnxruntime-node');

/** A session that may run nothing on the CPU provider: creation fails if a node falls back to it. */
const sessionOptions = {
  executionProviders: ['webgpu'],
  graphOptimizationLevel: 'all',
  extra: { session: { disable_cpu_ep_fallback: '1' } },
};

export async function load() {
  const backends = ort.listSupportedBackends?.() ?? [];
  if (!backends.some((b) => b.name === 'webgpu')) throw new Error(`onnxruntime-node lists no webgpu backend: ${JSON.stringify(backends)}`);
  const sessions = new Map();
  const sessionFor = async (p) => {
    let s = sessions.get(p.id);
    if (!s) {
      const dimsY = p.batch === 1 ? [p.M, p.N] : [p.batch, p.M, p.N];
      const bytes =
        p.kind === 'norm'
          ? p.op === 'softmax'
            ? softmaxModel([p.rows, p.d])
            : layerNormModel([p.rows, p.d], NORM_EPS)
          : matmulModel(shapeA(p), shapeB(p), dimsY, p.transB);
      s = await ort.InferenceSession.create(bytes, sessionOptions);
      sessions.set(p.id, s);
    }
    return s;
  };
  // one tiny session proves the provider starts with no CPU fallback before any timing
  const probe = { id: 'probe', batch: 1, M: 4, N: 4, K: 4, transB: false };
  await sessionFor(probe);
  return {
    id: 'ort',
    name: 'ONNX Runtime (WebGPU EP)',
    version,
    confirmed: "executionProviders ['webgpu'] with session.disable_cpu_ep_fallback = 1 (no node may run on the CPU EP)",
    async prepare(p, inputs) {
      const session = await sessionFor(p);
      return { p, session, feeds: { A: new ort.Tensor('float32', inputs.a, shapeA(p)), B: new ort.Tensor('float32', inputs.b, shapeB(p)) } };
    },
    async run(h) {
      const out = await h.session.run(h.feeds);
      const y = out.Y;
      const data = y.data;
      y.dispose?.();
      return { data };
    },
    release() {},
    /** The Softmax op (opset 13) and the LayerNormalization op (opset 17), W and B fed as inputs. */
    norm: {
      async prepare(p, inputs) {
        const session = await sessionFor(p);
        const feeds = { X: new ort.Tensor('float32', inputs.x, [p.rows, p.d]) };
        if (p.op === 'layerNorm') Object.assign(feeds, { W: new ort.Tensor('float32', inputs.w, [p.d]), B: new ort.Tensor('float32', inputs.b, [p.d]) });
        return { p, session, feeds };
      },
      async run(h) {
        const out = await h.session.run(h.feeds);
        const data = out.Y.data;
        out.Y.dispose?.();
        return { data };
      },
      release() {},
    },
    async close() {
      for (const s of sessions.values()) await s.release();
      sessions.clear();
    },
  };
}
