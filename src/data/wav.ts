// WAV (RIFF/WAVE) decoding from bytes into float samples in [−1, 1], mixed down to one channel. Plain
// TypeScript on the CPU; it is not a general audio container reader (no RF64, no compressed codecs).

/** A decoded WAV file: one channel of float samples at the file's rate. */
export interface DecodedWav {
  readonly sampleRate: number;
  /** Channels in the file (the samples are already mixed down or picked from one of them). */
  readonly channels: number;
  /** 'pcm' (integer) or 'float', after resolving WAVE_FORMAT_EXTENSIBLE. */
  readonly format: 'pcm' | 'float';
  readonly bitsPerSample: number;
  /** Mono samples, scaled as torchaudio.load does: int / 2^(bits−1), 8-bit as (u − 128) / 128. */
  readonly samples: Float32Array;
}

export interface DecodeWavOptions {
  /** Used in error messages. */
  readonly name?: string;
  /**
   * 'mean' (default) averages the channels; a number keeps that channel only. ImageBind hands torchaudio's
   * Kaldi fbank a multichannel waveform, which reads channel 0: pass 0 to match it on stereo files.
   */
  readonly channel?: 'mean' | number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(v: DataView, at: number): string {
  return String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));
}

interface Fmt {
  format: 'pcm' | 'float';
  channels: number;
  sampleRate: number;
  bits: number;
  blockAlign: number;
}

function parseFmt(v: DataView, at: number, size: number, fail: (m: string) => never): Fmt {
  if (size < 16) fail(`'fmt ' chunk is ${size} bytes, expected at least 16`);
  let code = v.getUint16(at, true);
  const channels = v.getUint16(at + 2, true);
  const sampleRate = v.getUint32(at + 4, true);
  const blockAlign = v.getUint16(at + 12, true);
  const bits = v.getUint16(at + 14, true);
  if (code === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40) fail(`WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is ${size} bytes, expected 40`);
    code = v.getUint16(at + 24, true); // the first two bytes of the SubFormat GUID are the format code
  }
  if (channels === 0) fail('the file declares zero channels');
  if (sampleRate === 0) fail('the file declares a sample rate of 0 Hz');
  let format: 'pcm' | 'float';
  if (code === WAVE_FORMAT_PCM) {
    if (![8, 16, 24, 32].includes(bits)) fail(`unsupported PCM bit depth ${bits} (supported: 8, 16, 24, 32)`);
    format = 'pcm';
  } else if (code === WAVE_FORMAT_IEEE_FLOAT) {
    if (bits !== 32 && bits !== 64) fail(`unsupported IEEE float bit depth ${bits} (supported: 32, 64)`);
    format = 'float';
  } else {
    fail(`unsupported format code 0x${code.toString(16).padStart(4, '0')} (supported: PCM 0x0001, IEEE float 0x0003, extensible 0xfffe)`);
  }
  if (blockAlign !== channels * (bits / 8))
    fail(`block align ${blockAlign} does not match ${channels} channel(s) of ${bits}-bit samples`);
  return { format, channels, sampleRate, bits, blockAlign };
}

/** One sample at byte `at`, scaled to [−1, 1] like torchaudio.load's `normalize=True`. */
function reader(f: Fmt): (v: DataView, at: number) => number {
  if (f.format === 'float') return f.bits === 32 ? (v, at) => v.getFloat32(at, true) : (v, at) => v.getFloat64(at, true);
  switch (f.bits) {
    case 8:
      return (v, at) => (v.getUint8(at) - 128) / 128;
    case 16:
      return (v, at) => v.getInt16(at, true) / 32768;
    case 24:
      return (v, at) => ((v.getUint8(at) | (v.getUint8(at + 1) << 8) | (v.getInt8(at + 2) << 16)) / 8388608);
    default:
      return (v, at) => v.getInt32(at, true) / 2147483648;
  }
}

/**
 * Decodes a RIFF/WAVE file: PCM 8-bit unsigned and 16/24/32-bit signed, IEEE float 32/64, and
 * WAVE_FORMAT_EXTENSIBLE of those; any channel count, mixed to mono. Unknown chunks are skipped
 * (with their odd-size pad byte). Malformed input throws an error naming the file and the fault.
 * @example const { samples, sampleRate } = kiln.data.decodeWav(bytes, { name: 'dog.wav' });
 */
export function decodeWav(bytes: Uint8Array | ArrayBuffer, opts: DecodeWavOptions = {}): DecodedWav {
  const name = opts.name ?? '<wav>';
  const fail = (m: string): never => {
    throw new Error(`decodeWav: ${name}: ${m}`);
  };
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const v = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  if (u8.length < 12) fail(`truncated: ${u8.length} bytes is shorter than a RIFF header (12)`);
  if (fourcc(v, 0) !== 'RIFF' || fourcc(v, 8) !== 'WAVE') fail(`not a RIFF/WAVE file (starts with '${fourcc(v, 0)}'…'${fourcc(v, 8)}')`);
  let fmt: Fmt | null = null;
  let data: { at: number; size: number } | null = null;
  // Walk the chunks; the RIFF size field is often wrong in the wild, so the byte length bounds the walk.
  for (let at = 12; at + 8 <= u8.length && data === null; ) {
    const id = fourcc(v, at);
    const size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + size > u8.length) fail(`truncated: 'fmt ' chunk of ${size} bytes at offset ${at} runs past the end (${u8.length} bytes)`);
      fmt = parseFmt(v, body, size, fail);
    } else if (id === 'data') {
      if (fmt === null) fail(`'data' chunk at offset ${at} comes before any 'fmt ' chunk`);
      if (body + size > u8.length) fail(`truncated: 'data' chunk of ${size} bytes at offset ${at} runs past the end (${u8.length} bytes)`);
      data = { at: body, size };
    }
    at = body + size + (size & 1);
  }
  if (fmt === null) fail(`no 'fmt ' chunk`);
  if (data === null) fail(`no 'data' chunk`);
  const f = fmt!;
  const d = data!;
  const channel = opts.channel ?? 'mean';
  if (channel !== 'mean' && !(Number.isInteger(channel) && channel >= 0 && channel < f.channels))
    fail(`channel ${channel} does not exist (the file has ${f.channels})`);
  const frames = Math.floor(d.size / f.blockAlign); // a trailing partial frame is dropped
  const read = reader(f);
  const step = f.bits / 8;
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    const base = d.at + i * f.blockAlign;
    if (channel !== 'mean') samples[i] = read(v, base + channel * step);
    else {
      let s = 0;
      for (let c = 0; c < f.channels; c++) s += read(v, base + c * step);
      samples[i] = s / f.channels;
    }
  }
  return { sampleRate: f.sampleRate, channels: f.channels, format: f.format, bitsPerSample: f.bits, samples };
}
