// WAV decoding (every supported format, against torchaudio.load of generated files and against values
// written here), each malformed-file error, resampling against torchaudio, and ImageBind's clip sampling.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clipStarts } from '../../src/data/audio.js';
import { TABLE_LIMIT, resample, resampleDirect, resampleRange } from '../../src/data/resample.js';
import { fuzz } from '../helpers/fuzz.js';
import { randomArray } from '../helpers/random.js';
import { fmt, wav } from '../helpers/wav.js';
import { decodeWav } from '../../src/data/wav.js';

const dir = new URL('../fixtures/audio/', import.meta.url);
const bytes = (f: string): Uint8Array => new Uint8Array(readFileSync(new URL(f, dir)));
const f32 = (f: string): Float32Array => {
  const b = readFileSync(new URL(f, dir));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
interface Meta {
  decoded: Record<string, { rate: number; channels: number; frames: number; shape: [number, number] }>;
  resampled: { name: string; from: number; to: number; shape: [number] };
  clips: Record<string, number[]>;
}
const meta = JSON.parse(readFileSync(new URL('audio.json', dir), 'utf8')) as Meta;

describe('decodeWav on generated files (reference: torchaudio.load, sox backend)', () => {
  for (const name of ['tone440', 'twotones', 'noise', 'silence', 'short', 'stereo44k', 'u8', 'f32', 'extensible']) {
    it(`${name}.wav`, () => {
      const m = meta.decoded[name]!;
      const ref = f32(`${name}.decoded.f32`);
      const [frames, channels] = m.shape;
      for (let c = 0; c < channels; c++) {
        const d = decodeWav(bytes(`${name}.wav`), { name, channel: c });
        expect([d.sampleRate, d.channels, d.samples.length]).toEqual([m.rate, m.channels, m.frames]);
        const want = Float32Array.from({ length: frames }, (_, i) => ref[i * channels + c]!);
        expect(Array.from(d.samples.subarray(0, frames))).toEqual(Array.from(want)); // exact
      }
      const mono = decodeWav(bytes(`${name}.wav`), { name }).samples;
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < channels; c++) s += ref[i * channels + c]!;
        expect(mono[i]).toBeCloseTo(s / channels, 7);
      }
    });
  }

  it('reports the format it found', () => {
    const d = decodeWav(bytes('stereo44k.wav'));
    expect([d.format, d.bitsPerSample, d.channels, d.sampleRate]).toEqual(['pcm', 24, 2, 44100]);
    expect(decodeWav(bytes('u8.wav')).bitsPerSample).toBe(8);
    expect(decodeWav(bytes('f32.wav')).format).toBe('float');
  });
});

describe('decodeWav on files written here', () => {
  it('32-bit PCM, float64, extensible float, 3 channels, an odd unknown chunk and a partial last frame', () => {
    const ints = [0, 1 << 30, -(2 ** 31), 2 ** 31 - 1, -12345678, 7];
    const pcm32 = new Uint8Array(4 * ints.length + 3); // 3 stray bytes: a partial frame, dropped
    ints.forEach((x, i) => new DataView(pcm32.buffer).setInt32(4 * i, x, true));
    const odd = new Uint8Array([...new TextEncoder().encode('junk'), 3, 0, 0, 0, 1, 2, 3, 0]);
    const a = decodeWav(wav(fmt(1, 1, 8000, 32), pcm32, odd));
    expect(Array.from(a.samples)).toEqual(ints.map((x) => Math.fround(x / 2 ** 31)));

    const doubles = [0.5, -0.25, 1, -1, 0.1, 0.3];
    const d64 = new Uint8Array(new Float64Array(doubles).buffer);
    const b = decodeWav(wav(fmt(3, 3, 16000, 64), d64));
    expect(b.channels).toBe(3);
    expect(Array.from(b.samples)).toEqual([Math.fround((0.5 - 0.25 + 1) / 3), Math.fround((-1 + 0.1 + 0.3) / 3)]);
    expect(Array.from(decodeWav(wav(fmt(3, 3, 16000, 64), d64), { channel: 2 }).samples)).toEqual([1, Math.fround(0.3)]);

    const floats = new Float32Array([0.75, -0.5]);
    const c = decodeWav(wav(fmt(0, 1, 22050, 32, 3), new Uint8Array(floats.buffer)));
    expect([c.format, c.sampleRate, ...c.samples]).toEqual(['float', 22050, 0.75, -0.5]);

    const u8 = decodeWav(wav(fmt(1, 2, 16000, 8), new Uint8Array([0, 255, 128, 64])));
    expect(Array.from(u8.samples)).toEqual([(-128 + 127) / 256, (0 - 64) / 256]);
  });

  const good = wav(fmt(1, 1, 16000, 16), new Uint8Array(8));
  const bad: [string, Uint8Array | ArrayBuffer, RegExp][] = [
    ['a truncated header', good.slice(0, 10), /bad\.wav: truncated: 10 bytes/],
    ['a truncated data chunk', good.slice(0, good.length - 2), /bad\.wav: truncated: 'data' chunk of 8 bytes/],
    ['a file that is not RIFF', new TextEncoder().encode('ID3\u0004 not a wave file at all'), /bad\.wav: not a RIFF\/WAVE file/],
    ['an unsupported format code', wav(fmt(0x55, 1, 16000, 16), new Uint8Array(8)), /bad\.wav: unsupported format code 0x0055/],
    ['an unsupported extensible subformat', wav(fmt(0, 1, 16000, 16, 0x11), new Uint8Array(8)), /bad\.wav: unsupported format code 0x0011/],
    ['zero channels', wav(fmt(1, 0, 16000, 16), new Uint8Array(8)), /bad\.wav: the file declares zero channels/],
    ['an odd bit depth', wav(fmt(1, 1, 16000, 12), new Uint8Array(8)), /bad\.wav: unsupported PCM bit depth 12/],
    ['no data chunk', good.slice(0, 36), /bad\.wav: no 'data' chunk/],
  ];
  for (const [what, file, msg] of bad)
    it(`throws on ${what}`, () => {
      expect(() => decodeWav(file, { name: 'bad.wav' })).toThrow(msg);
    });

  it('throws on a data chunk past the end of the file, and on a missing channel', () => {
    const f = good.slice();
    new DataView(f.buffer).setUint32(40, 1000, true); // the data chunk's size field
    expect(() => decodeWav(f, { name: 'x.wav' })).toThrow(/x\.wav: truncated: 'data' chunk of 1000 bytes at offset 36 runs past the end \(52 bytes\)/);
    expect(() => decodeWav(good, { name: 'x.wav', channel: 1 })).toThrow(/x\.wav: channel 1 does not exist \(the file has 1\)/);
  });
});

describe('resample', () => {
  it('44.1 kHz → 16 kHz matches torchaudio.functional.resample (max |diff| ≤ 5e-6, norm-wise ≤ 1e-5)', () => {
    const { name, from, to, shape } = meta.resampled;
    const x = decodeWav(bytes(`${name}.wav`)).samples;
    const y = resample(x, from, to);
    const ref = f32(`${name}.resampled.f32`);
    expect(y.length).toBe(shape[0]);
    // torchaudio builds its filter and convolves in float32; this runs in float64, so they differ by rounding
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ref[i]!));
    expect(worst).toBeLessThan(5e-6); // measured 1.8e-6 (norm-wise 2.4e-6)
    expect(y).toBeAllClose(ref, { rtol: 1e-5 });
  });

  it('keeps a band-limited tone and returns a copy at equal rates', () => {
    const x = Float32Array.from({ length: 4410 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 44100));
    const y = resample(x, 44100, 16000);
    expect(y.length).toBe(1600);
    for (let i = 100; i < 1500; i++) expect(Math.abs(y[i]! - Math.sin((2 * Math.PI * 1000 * i) / 16000))).toBeLessThan(2e-3);
    const same = resample(x, 16000, 16000);
    expect(same).not.toBe(x);
    expect(same).toEqual(x);
    expect(() => resample(x, 44100.5, 16000)).toThrow(/positive integers/);
  });
});

describe('resample: the sample-rate policy', () => {
  const rdir = new URL('../fixtures/resample/', import.meta.url);
  const raw = (f: string): Float32Array => {
    const b = readFileSync(new URL(f, rdir));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const rmeta = JSON.parse(readFileSync(new URL('resample.json', rdir), 'utf8')) as { rates: Record<string, { in: number; out: number }> };
  const worst = (a: Float32Array, b: Float32Array): number => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);

  it("every common rate (8–96 kHz) → 16 kHz: torchaudio's length and values (max |diff| ≤ 3e-7, float32 summation order)", () => {
    expect(Object.keys(rmeta.rates)).toEqual(['8000', '11025', '22050', '32000', '44100', '48000', '88200', '96000']);
    for (const [rate, m] of Object.entries(rmeta.rates)) {
      const x = raw(`${rate}.in.f32`);
      expect(x.length).toBe(m.in);
      const y = resample(x, Number(rate), 16000);
      expect(y.length, rate).toBe(m.out);
      // The filter is torchaudio's float32 one; the sums differ only in order and precision (measured ≤ 1.8e-7).
      expect(worst(y, raw(`${rate}.out.f32`)), rate).toBeLessThan(3e-7);
      // The exact per-output weights (used where the table would be large) differ only by torchaudio's float32 filter.
      expect(worst(resampleDirect(x, Number(rate), 16000), y), rate).toBeLessThan(3e-5); // measured ≤ 1.6e-5
    }
  });

  /** An independent reference: the output instant o/to against every input instant i/from, no polyphase indexing. */
  function direct(x: Float32Array, from: number, to: number, o: number): number {
    const base = Math.min(from, to) * 0.99; // cut-off in Hz
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      const t = (i / from - o / to) * base; // in periods of the cut-off
      if (Math.abs(t) >= 6) continue;
      const w = Math.cos((t * Math.PI) / 12) ** 2;
      s += x[i]! * (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t)) * w * (base / from);
    }
    return s;
  }

  it('other rates (16,001 Hz, 44,101 Hz, 7,999 Hz) in bounded memory, within 1e-6 of the filter computed directly', () => {
    for (const from of [16001, 44101, 7999]) {
      expect(((16000 / 1) * (from + 100)) / 1).toBeGreaterThan(TABLE_LIMIT); // torchaudio's table would be huge
      const x = Float32Array.from(randomArray(from, from, 0.3)); // 1 s
      const t0 = performance.now();
      const y = resample(x, from, 16000);
      expect(performance.now() - t0, `${from} Hz`).toBeLessThan(3000);
      expect(y.length).toBe(Math.ceil((16000 * from) / from));
      for (const o of [0, 1, 7, 5000, 8001, 15999]) expect(Math.abs(y[o]! - direct(x, from, 16000, o)), `${from} Hz, output ${o}`).toBeLessThan(1e-6);
      // A range is the same values as the slice of the whole.
      expect(resampleRange(x, from, 16000, 4000, 4100)).toEqual(y.subarray(4000, 4100));
    }
  });

  it('refuses bad rates, options and outputs past the limit, naming them', () => {
    const x = new Float32Array(10);
    expect(() => resample(x, 0, 16000)).toThrow('resample: sample rates must be positive integers, got 0 → 16000');
    expect(() => resample(x, NaN, 16000)).toThrow(/positive integers/);
    expect(() => resample(x, 8000, 16000, { rolloff: NaN })).toThrow('resample: rolloff must be in (0, 1], got NaN');
    expect(() => resample(x, 8000, 16000, { lowpassFilterWidth: 0 })).toThrow('resample: lowpassFilterWidth must be an integer in 1..64, got 0');
    expect(() => resample(new Float32Array(1 << 20), 1, 16000)).toThrow(/would be 16777216000 samples, over the 268435456-sample limit/);
    expect(() => resampleRange(x, 8000, 16000, 5, 30)).toThrow('resample: output range [5, 30) is not within the 20 samples of the result');
  });
});

describe('decodeWav: fuzz', () => {
  it('mutated WAV files decode or are refused naming the reader', async () => {
    const extra = new Uint8Array([...'LIST'].map((c) => c.charCodeAt(0)).concat([4, 0, 0, 0, 1, 2, 3, 4]));
    const good = wav(fmt(1, 2, 44100, 16), new Uint8Array(64).map((_, i) => i * 7), extra);
    const { cases, refused } = await fuzz(good, (b) => decodeWav(b, { name: 'f.wav' }), { seed: 2105, budgetMs: 1500, maxCases: 2000, prefix: /^decodeWav: f\.wav: / });
    expect(cases).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(cases / 10); // many bytes are samples, which any value may hold
  });
});

describe('ImageBind clip sampling', () => {
  it('matches pytorchvideo ConstantClipsPerVideoSampler (2 s, 3 clips) as ImageBind slices it', () => {
    for (const [n, starts] of Object.entries(meta.clips)) expect(clipStarts(Number(n), 3, 2)).toEqual(starts);
  });
});
