// Fused LayerNorm / RMSNorm against float64 references, the unfused composition, and finite differences.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { randomArray } from '../../helpers/random.js';

function refNorm(x: Float64Array, d: number, w: Float64Array | null, b: Float64Array | null, eps: number, rms: boolean): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const mu = rms ? 0 : row.reduce((a, v) => a + v, 0) / d;
    const varr = row.reduce((a, v) => a + (v - mu) ** 2, 0) / d;
    for (let j = 0; j < d; j++) y[r * d + j] = ((row[j]! - mu) / Math.sqrt(varr + eps)) * (w ? w[j]! : 1) + (b ? b[j]! : 0);
  }
  return y;
}

describe('layerNorm and rmsNorm (fused)', () => {
  it('forward matches float64 and the unfused composition at awkward sizes (rtol 1e-5)', async () => {
    for (const [rows, d] of [[1, 1], [7, 33], [130, 7], [3, 257]] as [number, number][]) {
      const xs = randomArray(rows * d, rows + d, 2).map((v) => v + 5); // an offset: the variance must stay stable
      const ws = randomArray(d, 3);
      const bs = randomArray(d, 4);
      const x = kiln.tensor(Float32Array.from(xs), { shape: [rows, d] });
      const w = kiln.tensor(Float32Array.from(ws));
      const b = kiln.tensor(Float32Array.from(bs));
      const ref = refNorm(xs, d, ws, bs, 1e-6, false);
      expect(await kiln.F.layerNorm(x, [d], w, b, 1e-6).data()).toBeAllClose(ref, { rtol: 1e-5 });
      expect(await kiln.F.layerNorm(x, [d], w, b, 1e-6, { fused: false }).data()).toBeAllClose(ref, { rtol: 1e-5 });
      expect(await kiln.F.layerNorm(x, [d]).data()).toBeAllClose(refNorm(xs, d, null, null, 1e-5, false), { rtol: 1e-5 });
      expect(await kiln.F.rmsNorm(x, [d], w).data()).toBeAllClose(refNorm(xs, d, ws, null, 1e-6, true), { rtol: 1e-5 });
    }
  });

  it('vec4 path (D a multiple of 4) and the scalar path beside it, rows far from zero and an outlier first element', async () => {
    // D = 4, 12, 1024 take layer_norm_vec4.wgsl; 1023, 1025, 6 do not
    for (const d of [4, 12, 1024, 1023, 1025, 6]) {
      const rows = 5;
      // offsets 0..400 and an outlier first element in rows 3, 4 (where a shifted one-pass variance cancels);
      // the reference reads the f32-rounded inputs the kernel sees. rtol 3e-5: the scalar path's Welford
      // update rounds its running mean at every element and reached 1.2e-5 on the mean-400, σ-2 rows
      const raw = randomArray(rows * d, d, 2).map((v, i) => (i % d === 0 && i >= 3 * d ? v + 40 : v + 100 * Math.floor(i / d)));
      const xs = Float64Array.from(Float32Array.from(raw));
      const ws = randomArray(d, 5);
      const bs = randomArray(d, 6);
      const x = kiln.tensor(Float32Array.from(xs), { shape: [rows, d] });
      const w = kiln.tensor(Float32Array.from(ws));
      const b = kiln.tensor(Float32Array.from(bs));
      expect(await kiln.F.layerNorm(x, [d], w, b).data()).toBeAllClose(refNorm(xs, d, ws, bs, 1e-5, false), { rtol: 3e-5 });
      expect(await kiln.F.layerNorm(x, [d]).data()).toBeAllClose(refNorm(xs, d, null, null, 1e-5, false), { rtol: 3e-5 });
      expect(await kiln.F.rmsNorm(x, [d], w).data()).toBeAllClose(refNorm(xs, d, ws, null, 1e-6, true), { rtol: 3e-5 });
      if (kiln.deviceInfo().features.includes('shader-f16')) {
        // f16 storage, f32 arithmetic, on rows near zero (f16 cannot hold offsets of 100 to 1e-3)
        const hs = Float64Array.from(await kiln.tensor(Float32Array.from(randomArray(rows * d, d + 1, 2)), { dtype: 'f16' }).to('f32').data());
        const h = kiln.tensor(Float32Array.from(hs), { shape: [rows, d], dtype: 'f16' });
        const hw = kiln.tensor(Float32Array.from(ws), { dtype: 'f16' });
        const hwd = Float64Array.from(await hw.to('f32').data());
        expect(await kiln.F.layerNorm(h, [d], hw).to('f32').data()).toBeAllClose(refNorm(hs, d, hwd, null, 1e-5, false), { rtol: 2e-3 });
      }
    }
  });

  it('normalizes over several trailing dims of a non-contiguous input', async () => {
    const xs = randomArray(4 * 3 * 5, 9);
    const x = kiln.tensor(Float32Array.from(xs), { shape: [3, 4, 5] }).permute([1, 0, 2]); // [4, 3, 5] view
    const xc = Float64Array.from(await x.contiguous().data());
    expect(await kiln.F.layerNorm(x, [3, 5]).data()).toBeAllClose(refNorm(xc, 15, null, null, 1e-5, false), { rtol: 1e-5 });
  });

  it('backward (input, weight, bias) against finite differences; RMSNorm too', async () => {
    await gradcheck((x, w, b) => kiln.F.layerNorm(x, [4], w, b), [{ shape: [3, 4] }, { shape: [4] }, { shape: [4] }]);
    await gradcheck((x, w) => kiln.F.rmsNorm(x, [5], w), [{ shape: [2, 5] }, { shape: [5] }]);
    await gradcheck((x, w, b) => kiln.F.layerNorm(x, [33], w, b).mul(x), [{ shape: [7, 33] }, { shape: [33] }, { shape: [33] }], { mode: 'directions' });
  });

  it('refuses mismatched shapes with a clear error', () => {
    expect(() => kiln.F.layerNorm(kiln.ones([2, 3]), [4])).toThrow(/layerNorm: normalized_shape \[4\] does not match the trailing dimensions of the input \[2,3\]/);
    expect(() => kiln.F.layerNorm(kiln.ones([2, 3]), [3], kiln.ones([4]))).toThrow(/layerNorm: weight of shape \[4\] does not match normalized_shape \[3\]/);
  });
});
