// Kiln as a bench engine: inputs uploaded and flushed before the clock starts; a run is the product, a
// flush (the compute time), then the readback of the result. Kiln exposes no GPU-timestamp hook, so both
// figures are wall clock. Tunes its matmul per shape first when the build has kiln.tuneMatmul.

import { readFileSync } from 'node:fs';
import { shapeA, shapeB } from './problems.mjs';

export async function loadKiln() {
  const url = new URL('../../dist/index.js', import.meta.url);
  let kiln;
  try {
    kiln = await import(url.href);
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND') throw new Error('bench: dist/index.js is missing: run `npm run build` first (or use `npm run bench`).');
    throw e;
  }
  const info = await kiln.init();
  return {
    id: 'kiln',
    name: 'Kiln',
    kiln,
    info,
    /**
     * When this Kiln build has `tuneMatmul` (added by the matmul rewrite), tunes for `p`'s shape before it
     * is timed; returns { ms, result } or null. Defensive: the API may still change under the bench.
     */
    async tune(p) {
      if (typeof kiln.tuneMatmul !== 'function') return null;
      const t0 = performance.now();
      const result = await kiln.tuneMatmul({ M: p.M, K: p.K, N: p.N });
      return { ms: performance.now() - t0, result };
    },
    version: JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    confirmed: `kiln.deviceInfo(): ${info.runtime}, ${info.vendor} ${info.architecture}`,
    async prepare(p, inputs) {
      const a = kiln.tensor(inputs.a, { shape: shapeA(p) });
      const b = kiln.tensor(inputs.b, { shape: shapeB(p) });
      await kiln.flush();
      return { p, a, b };
    },
    async run(h) {
      const t0 = performance.now();
      // tidy frees the transposed view and keeps the product
      const c = kiln.tidy(() => kiln.matmul(h.a, h.p.transB ? h.b.mT : h.b));
      await kiln.flush();
      const computeMs = performance.now() - t0;
      const data = await c.data();
      c.dispose();
      return { data, computeMs };
    },
    release(h) {
      h.a.dispose();
      h.b.dispose();
    },
    /** The norm suite: kiln.F.softmax(x, -1) and kiln.F.layerNorm(x, [d], w, b) (eps 1e-5, Kiln's default). */
    norm: {
      async prepare(p, inputs) {
        const x = kiln.tensor(inputs.x, { shape: [p.rows, p.d] });
        const w = inputs.w ? kiln.tensor(inputs.w, { shape: [p.d] }) : null;
        const b = inputs.b ? kiln.tensor(inputs.b, { shape: [p.d] }) : null;
        await kiln.flush();
        return { p, x, w, b };
      },
      async run(h) {
        const t0 = performance.now();
        const y = kiln.noGrad(() => (h.p.op === 'softmax' ? kiln.F.softmax(h.x, -1) : kiln.F.layerNorm(h.x, [h.p.d], h.w, h.b, 1e-5)));
        await kiln.flush();
        const computeMs = performance.now() - t0;
        const data = await y.data();
        y.dispose();
        return { data, computeMs };
      },
      release(h) {
        for (const t of [h.x, h.w, h.b]) t?.dispose();
      },
    },
    close() {},
  };
}
