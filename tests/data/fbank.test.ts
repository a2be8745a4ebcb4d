// The Kaldi filterbank on the GPU: its FFT against a float64 DFT, fbank against torchaudio's Kaldi
// fbank on generated files, and ImageBind's whole audio input (clips, padding, normalisation).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { LOG_FLOOR, logMel, melBanks, spectrum } from '../../src/data/fbank.js';
import { clipStarts } from '../../src/data/audio.js';
import { decodeWav } from '../../src/data/wav.js';
import { resample } from '../../src/data/resample.js';
import { fmt, wav } from '../helpers/wav.js';
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

describe('loadAudio: options, sample rates, long files, no leaks', () => {
  const tone = (rate: number, seconds: number, bits: 8 | 16 = 16): Uint8Array => {
    const n = Math.round(rate * seconds);
    const data = new Uint8Array((n * bits) / 8);
    const dv = new DataView(data.buffer);
    for (let i = 0; i < n; i++) {
      const v = 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.1 * Math.sin(i * 0.37);
      if (bits === 16) dv.setInt16(2 * i, Math.round(v * 32767), true);
      else data[i] = Math.round(v * 127) + 128;
    }
    return wav(fmt(1, 1, rate, bits), data);
  };
  const good = tone(16000, 0.5);

  /** The error `fn` throws; asserts that no tensor was left live. */
  const refusal = (fn: () => unknown): string => {
    const before = kiln.memory().liveTensors;
    let msg = 'no error';
    try {
      fn();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(kiln.memory().liveTensors, msg).toBe(before);
    return msg;
  };

  it('validates every numeric option (finite, in range), naming it, before any work', () => {
    const load = (o: kiln.data.LoadAudioOptions): string => refusal(() => kiln.data.loadAudio(good, o));
    for (const v of [NaN, -Infinity, Infinity, 0, -1]) expect(load({ clipDuration: v })).toBe(`loadAudio: clipDuration must be a finite number in (0, 86400], got ${v}`);
    for (const v of [0, 1.5, 17, NaN]) expect(load({ clipsPerFile: v })).toBe(`loadAudio: clipsPerFile must be an integer in 1..16, got ${v}`);
    for (const v of [0, 257, NaN]) expect(load({ numMelBins: v })).toBe(`loadAudio: numMelBins must be an integer in 1..256, got ${v}`);
    for (const v of [0, Infinity, 2.5]) expect(load({ targetLength: v })).toBe(`loadAudio: targetLength must be an integer in 1..1048576, got ${v}`);
    expect(load({ mean: NaN })).toBe('loadAudio: mean must be a finite number in [-Infinity, Infinity], got NaN');
    expect(load({ std: Infinity })).toMatch(/^loadAudio: std must be a finite number/);
    expect(load({ std: 0 })).toBe('loadAudio: std must not be 0');
    expect(load({ clipsPerFile: 16, targetLength: 100000 })).toMatch(/^loadAudio: clipsPerFile 16 × targetLength 100000 frames need a \d+-byte spectrum, over the \d+-byte binding limit$/);
    expect(load({ channel: 3 })).toMatch(/channel 3 does not exist/);
    expect(() => clipStarts(100, 3, NaN)).toThrow('clipStarts: clipDuration must be a finite number in [0, Infinity], got NaN');
    expect(() => kiln.data.fbank(new Float32Array(1000), { numMelBins: 0 })).toThrow('fbank: numMelBins must be an integer in 1..256, got 0');
  });

  it('refuses absurd sample rates clearly and leaves nothing live', () => {
    for (const rate of [1, 999, 768001, 2 ** 31 - 1, 2 ** 32 - 1]) {
      const f = wav(fmt(1, 1, rate, 16), new Uint8Array(3200));
      expect(refusal(() => kiln.data.loadAudio(f, { name: 'odd.wav' }))).toBe(`loadAudio: odd.wav declares a sample rate of ${rate} Hz; supported rates are 1000..768000 Hz`);
    }
  });

  it('resamples rates between the common ones (16,001 Hz, 44,101 Hz) in bounded time, as the same file at a neighbouring rate', async () => {
    for (const [odd, near] of [[16001, 16000], [44101, 44100]] as const) {
      const t0 = performance.now();
      const a = kiln.data.loadAudio(tone(odd, 2.5));
      expect(performance.now() - t0).toBeLessThan(5000);
      const b = kiln.data.loadAudio(tone(near, 2.5));
      // A 440 Hz tone read at a rate 1 Hz off is nearly the same signal: the log-mels agree closely.
      expect(await a.data()).toBeAllClose(await b.data(), { rtol: 0.05 });
      a.dispose();
      b.dispose();
    }
  });

  /** loadAudio's clips built the long way: the whole file resampled, then fbank of each clip's samples. */
  async function reference(file: Uint8Array): Promise<Float32Array> {
    const d = decodeWav(file);
    const s16 = d.sampleRate === 16000 ? d.samples : resample(d.samples, d.sampleRate, 16000);
    const out = new Float32Array(3 * 128 * 204);
    const starts = clipStarts(s16.length, 3, 2);
    for (const [c, s] of starts.entries()) {
      const f = kiln.data.fbank(s16.subarray(s, s + 32000));
      const v = await f.data();
      const frames = Math.min(f.shape[0]!, 204);
      for (let m = 0; m < 128; m++) for (let t = 0; t < 204; t++) out[(c * 128 + m) * 204 + t] = ((t < frames ? v[t * 128 + m]! : 0) + 4.268) / 9.138;
      f.dispose();
    }
    return out;
  }

  it('resamples and uploads only the clips: equal to resampling the whole file first', async () => {
    for (const file of [bytes('stereo44k.wav'), tone(22050, 7.3), tone(16000, 3)]) {
      const x = kiln.data.loadAudio(file);
      expect(await x.data()).toBeAllClose(await reference(file), { rtol: 1e-5 });
      x.dispose();
    }
  });

  it('frees the filterbank tables and spectrum when a launch throws partway', () => {
    const out = kiln.zeros([17, 1, 8, 4]);
    const wave = kiln.zeros([4000]);
    const before = kiln.memory().liveTensors;
    const bad = { starts: new Array<number>(17).fill(0), counts: new Array<number>(17).fill(1), slots: 4, length: 400, shift: 160 };
    expect(() => logMel(out, wave, bad, 8, { strides: [32, 4, 1], mean: 0, std: 1, floor: LOG_FLOOR })).toThrow('fbank: 17 clip starts and 17 counts (at most 16 clips)');
    expect(kiln.memory().liveTensors).toBe(before);
    out.dispose();
    wave.dispose();
  });

  it('loads a WAV longer than one GPU binding holds (35 minutes at 16 kHz), leaving only its result live', async () => {
    const n = 2 ** 25 + 16000; // 8-bit samples: 33.6 MB of file, 134 MB as f32, past the 128 MiB binding
    const data = new Uint8Array(n);
    const period = 40000; // a 0.4 Hz-and-up signal, written once and copied along (generating 34 M sines is slow)
    for (let i = 0; i < period; i++) data[i] = 128 + Math.round(60 * Math.sin(i * 0.05) + 20 * Math.sin((i * 2 * Math.PI) / period));
    for (let at = period; at < n; at *= 2) data.copyWithin(at, 0, Math.min(at, n - at));
    const file = wav(fmt(1, 1, 16000, 8), data);
    const before = kiln.memory().liveTensors;
    const x = kiln.data.loadAudio(file, { name: 'long.wav' });
    expect(kiln.memory().liveTensors).toBe(before + 1);
    expect(x.shape).toEqual([3, 1, 128, 204]);
    expect(await x.data()).toBeAllClose(await reference(file), { rtol: 1e-5 });
    x.dispose();
  });
});
