// The decode workers' CPU code: the SNR estimate on known signals, ColorJitter against a direct float64
// reading of PIL's ImageEnhance blends, decode failures returned (not thrown), and the random resized crop
// (box = the center square of a square image is the eval transform; a flip mirrors the columns).
import { encode } from 'fast-png';
import { beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { rng } from '../../helpers/random.js';

const { colorJitter, decodeJob, estimateSnrDb, transferables } = kiln.data;

describe('decode core', () => {
  beforeAll(async () => {
    await kiln.init();
  });

  it('estimates SNR: tone bursts over a quiet floor are high, white noise and silence are low', () => {
    const u = rng(3);
    const rate = 16000;
    const noise = (a: number): number => a * (u() - 0.5) * 2 * Math.sqrt(3); // uniform, standard deviation a
    const bursts = Float32Array.from({ length: rate * 2 }, (_, i) => (Math.floor(i / 4000) % 2 === 0 ? 0.5 * Math.sin(i * 0.3) : 0) + noise(0.005));
    const white = Float32Array.from({ length: rate * 2 }, () => noise(0.3));
    // bursts: half the frames at power 0.125 over a floor of 2.5e-5 → 10·log10(0.0625 / 2.5e-5) ≈ 34 dB
    expect(estimateSnrDb(bursts, rate)).toBeGreaterThan(30);
    expect(estimateSnrDb(bursts, rate)).toBeLessThan(38);
    expect(estimateSnrDb(white, rate)).toBeLessThan(3);
    expect(estimateSnrDb(new Float32Array(rate), rate)).toBe(-Infinity);
  });

  it('colour jitter: PIL blends (truncated, clipped) in the given order', () => {
    const u = rng(9);
    const px = Uint8Array.from({ length: 5 * 3 }, () => Math.floor(u() * 256));
    const p = { brightness: 1.3, contrast: 0.7, saturation: 1.5, order: [2, 0, 1] };
    const ref = Array.from(px);
    const luma = (i: number): number => (ref[3 * i]! * 19595 + ref[3 * i + 1]! * 38470 + ref[3 * i + 2]! * 7471 + 0x8000) >> 16;
    const blend = (d: (i: number) => number, f: number): void => ref.forEach((v, i) => (ref[i] = Math.min(255, Math.max(0, Math.trunc(d(i) + f * (v - d(i)))))));
    const grey = Array.from({ length: 5 }, (_, i) => luma(i));
    blend((i) => grey[Math.floor(i / 3)]!, 1.5);
    blend(() => 0, 1.3);
    const mean = Math.trunc(Array.from({ length: 5 }, (_, i) => luma(i)).reduce((a, b) => a + b) / 5 + 0.5);
    blend(() => mean, 0.7);
    colorJitter(px, p);
    expect(Array.from(px)).toEqual(ref);
  });

  it('returns decode failures as results and lists buffers to transfer', () => {
    const bad = decodeJob({ id: 4, files: [{ modality: 'image', kind: 'image', name: 'x.png', bytes: new Uint8Array([1, 2, 3]) }] });
    expect(bad.ok).toBe(false);
    expect(bad.id).toBe(4);
    const img = encode({ width: 3, height: 2, data: new Uint8Array(18).fill(9), channels: 3, depth: 8 });
    const good = decodeJob({ id: 5, files: [{ modality: 'image', kind: 'image', name: 'x.png', bytes: img }, { modality: 'text', kind: 'text', name: 't', bytes: new TextEncoder().encode(' a cat \n') }] });
    expect(good.ok && good.files[1]).toEqual({ modality: 'text', kind: 'text', text: 'a cat' });
    expect(transferables(good)).toHaveLength(1);
  });

  it('resizedCrop: the full square is the eval transform, and a flip mirrors the columns', async () => {
    const u = rng(11);
    const img = { width: 40, height: 40, channels: 3, data: Uint8Array.from({ length: 40 * 40 * 3 }, () => Math.floor(u() * 256)) };
    const box = { left: 0, top: 0, width: 40, height: 40 };
    const [a, b, c] = [kiln.data.resizedCrop(img, box, 16, false), kiln.data.loadImage(img, { size: 16 }), kiln.data.resizedCrop(img, box, 16, true)];
    const [x, y, z] = await Promise.all([a.data(), b.data(), c.data()]);
    expect(Array.from(x)).toEqual(Array.from(y));
    for (let ch = 0; ch < 3; ch++) for (let r = 0; r < 16; r++) for (let q = 0; q < 16; q++) expect(z[ch * 256 + r * 16 + q]).toBe(x[ch * 256 + r * 16 + 15 - q]);
    expect(() => kiln.data.resizedCrop(img, { ...box, left: 1 }, 16, false)).toThrow(/resizedCrop: box .* is not inside the 40x40 image/);
    for (const t of [a, b, c]) t.dispose();
  });
});
