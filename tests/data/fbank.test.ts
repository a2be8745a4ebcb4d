// The Kaldi filterbank on the GPU: its FFT against a float64 DFT, fbank against torchaudio's Kaldi
// fbank on generated files, and ImageBind's whole audio input (clips, padding, normalisation).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { LOG_FLOOR, melBanks, spectrum } from '../../src/data/fbank.js';
import { resample } from '../../src/data/resample.js';
import { relError } from '../helpers/matchers.js';
import { TEST_SEED, randomArray } from '../helpers/random.js';

const dir = new URL('../fixtures/audio/', import.meta.url);
const bytes = (f: string): Uint8Array => new Uint8Array(readFileSync(new URL(f, dir)));
const f32 = (f: string): Float32Array => {
  const b = readFileSync(new URL(f, dir));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
interface Meta {
  fbank: Record<string, [number, number]>;
  imagebind: Record<string, { shape: number[]; sum: number; clip_means: number[] }>;
}
const meta = JSON.parse(readFileSync(new URL('audio.json', dir), 'utf8')) as Meta;

function sumOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/** 16 kHz mono samples of a fixture, resampled here when the file is at another rate. */
function samples16k(name: string): Float32Array {
  const d = kiln.data.decodeWav(bytes(`${name}.wav`), { name });
  return d.sampleRate === 16000 ? d.samples : resample(d.samples, d.sampleRate, 16000);
}

describe('fft512 kernel', () => {
  it(`matches a float64 DFT on random frames (norm-wise ≤ 1e-6, seed ${TEST_SEED})`, async () => {
    const F = 24;
    const x = Float32Array.from(randomArray(F * 512, TEST_SEED));
    const wave = kiln.tensor(x);
    const spec = spectrum(wave, { starts: [0], counts: [F], slots: F, length: 512, shift: 512 }, false);
    const got = await spec.data();
    const ref = new Float64Array(F * 257 * 2);
    for (let f = 0; f < F; f++)
      for (let k = 0; k <= 256; k++) {
        let re = 0;
        let im = 0;
        for (let n = 0; n < 512; n++) {
          const a = (-2 * Math.PI * ((k * n) % 512)) / 512;
          re += x[f * 512 + n]! * Math.cos(a);
          im += x[f * 512 + n]! * Math.sin(a);
        }
        ref[(f * 257 + k) * 2] = re;
        ref[(f * 257 + k) * 2 + 1] = im;
      }
    expect(got).toBeAllClose(ref, { rtol: 1e-6 });
    // Each frame on its own, so one bad frame cannot hide in the others' norm.
    for (let f = 0; f < F; f++) expect(relError(got.subarray(f * 514, (f + 1) * 514), ref.subarray(f * 514, (f + 1) * 514))).toBeLessThan(1e-6);
    wave.dispose();
    spec.dispose();
  });
});

describe('fbank', () => {
  it('mel filters are Kaldi triangles on 1127·ln(1 + f/700), 20 Hz to Nyquist', () => {
    const { weights, bands } = melBanks(128);
    for (let m = 0; m < 128; m++) {
      const row = weights.subarray(m * 257, (m + 1) * 257);
      expect(row[256]).toBe(0);
      expect(Math.max(...row)).toBeLessThanOrEqual(1);
      for (let k = 0; k < 257; k++) if (row[k]! > 0) expect(k >= bands[2 * m]! && k < bands[2 * m + 1]!).toBe(true);
    }
    expect(bands[0]).toBe(1); // 31.25 Hz is the first bin above 20 Hz
  });

  // Log-mel values against torchaudio.compliance.kaldi.fbank (float32, ImageBind's arguments): norm-wise
  // relative error ≤ 1e-4; measured 3e-6 (noise) to 3.2e-5 (float32 tone). That is float32 rounding of
  // the FFTs: torchaudio's own float32 result is 1e-6 to 3e-5 away from its float64 one, and this one
  // 2e-6 to 3e-5. It shows most in the near-empty mel bands of pure tones (log-mel ≈ −15, energy set by
  // 16-bit quantisation noise), so the worst single element is bounded on its own: ≤ 1e-2 (measured 3.8e-3).
  for (const name of Object.keys(meta.fbank))
    it(`${name}: matches torchaudio's Kaldi fbank (norm-wise ≤ 1e-4)`, async () => {
      const ref = f32(`${name}.fbank.f32`);
      const out = kiln.data.fbank(samples16k(name));
      expect(out.shape).toEqual(meta.fbank[name]);
      const got = await out.data();
      expect(got).toBeAllClose(ref, { rtol: 1e-4 });
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
      expect(worst).toBeLessThan(1e-2);
      if (name === 'silence') expect(new Set(got)).toEqual(new Set([Math.fround(Math.log(LOG_FLOOR))]));
      out.dispose();
    });

  it('takes a 1-D tensor, and gives no frames for fewer than 400 samples', async () => {
    const x = samples16k('twotones').subarray(0, 1000);
    const a = kiln.data.fbank(kiln.tensor(x), { numMelBins: 40 });
    expect(a.shape).toEqual([4, 40]);
    expect((await a.data()).every(Number.isFinite)).toBe(true);
    expect(kiln.data.fbank(x.subarray(0, 399)).shape).toEqual([0, 128]);
    expect(() => kiln.data.fbank(kiln.zeros([2, 400]))).toThrow(/expected a 1-D f32 waveform/);
  });
});

describe('loadAudio', () => {
  // ImageBind: clip i of 2 s, Kaldi fbank → [128, frames], zero-padded / cut to 204, (x + 4.268) / 9.138.
  // Rebuilt from the stored whole-file fbank (clip starts fall on frame boundaries for these files).
  for (const [name, starts] of [['tone440', [0, 800, 1600]], ['short', [0, 0, 0]]] as const)
    it(`${name}: [3, 1, 128, 204], normalised, matches ImageBind's pipeline (norm-wise ≤ 1e-4)`, async () => {
      const full = f32(`${name}.fbank.f32`);
      const frames = meta.fbank[name]![0];
      const x = kiln.data.loadAudio(bytes(`${name}.wav`), { name: `${name}.wav` });
      expect(x.shape).toEqual([3, 1, 128, 204]);
      const got = await x.data();
      const ref = new Float32Array(3 * 128 * 204);
      starts.forEach((s, c) => {
        const first = s / 160;
        const n = Math.min(frames - first, 198);
        for (let m = 0; m < 128; m++)
          for (let t = 0; t < 204; t++) {
            const v = t < n ? full[(first + t) * 128 + m]! : 0;
            ref[(c * 128 + m) * 204 + t] = (v - -4.268) / 9.138;
          }
      });
      expect(got).toBeAllClose(ref, { rtol: 1e-4 }); // measured 1.4e-5 (tone440), 1.6e-5 (short)
      const ib = meta.imagebind[name]!;
      // ImageBind's own output, summarised: its sum and each clip's mean
      expect(Math.abs(sumOf(got) - ib.sum) / Math.abs(ib.sum)).toBeLessThan(1e-4);
      for (let c = 0; c < 3; c++) expect(sumOf(got.subarray(c * 128 * 204, (c + 1) * 128 * 204)) / (128 * 204)).toBeCloseTo(ib.clip_means[c]!, 4);
      // padded frames hold log-mel 0, normalised
      if (name === 'short') expect(got[203]).toBeCloseTo(4.268 / 9.138, 6);
      x.dispose();
    });

  it('resamples a 44.1 kHz stereo file and names the file in errors', () => {
    const x = kiln.data.loadAudio(bytes('stereo44k.wav'));
    expect(x.shape).toEqual([3, 1, 128, 204]);
    x.dispose();
    expect(() => kiln.data.loadAudio(new Uint8Array(20), { name: 'empty.wav' })).toThrow(/empty\.wav: not a RIFF\/WAVE file/);
  });
});
