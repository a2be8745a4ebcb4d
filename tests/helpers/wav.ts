// RIFF/WAVE files built in tests: a fmt chunk of any format code, rate and depth, data and extra chunks.

/** A RIFF/WAVE file from a fmt chunk, data bytes and optional extra chunks (placed before the data). */
export function wav(fmt: Uint8Array, data: Uint8Array, extra: Uint8Array = new Uint8Array()): Uint8Array {
  const chunk = (id: string, body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(8 + body.length + (body.length & 1));
    out.set([...id].map((c) => c.charCodeAt(0)));
    new DataView(out.buffer).setUint32(4, body.length, true);
    out.set(body, 8);
    return out;
  };
  const parts = [new TextEncoder().encode('WAVE'), chunk('fmt ', fmt), extra, chunk('data', data)];
  const size = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(8 + size);
  out.set(new TextEncoder().encode('RIFF'));
  new DataView(out.buffer).setUint32(4, size, true);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A 'fmt ' chunk body: PCM (1) or IEEE float (3), or WAVE_FORMAT_EXTENSIBLE wrapping `extensibleCode`. */
export function fmt(code: number, channels: number, rate: number, bits: number, extensibleCode?: number): Uint8Array {
  const out = new Uint8Array(extensibleCode === undefined ? 16 : 40);
  const v = new DataView(out.buffer);
  v.setUint16(0, extensibleCode === undefined ? code : 0xfffe, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, (rate * channels * bits) / 8, true);
  v.setUint16(12, (channels * bits) / 8, true);
  v.setUint16(14, bits, true);
  if (extensibleCode !== undefined) {
    v.setUint16(16, 22, true);
    v.setUint16(18, bits, true);
    v.setUint16(24, extensibleCode, true);
  }
  return out;
}

