// A small zlib (RFC 1950/1951) inflater in plain TypeScript, bounded by a caller's output limit and checking
// the Adler-32 trailer: the synchronous fallback where Node's zlib is absent (browsers), after Mark Adler's
// puff.c. Not fast (it decodes Huffman codes bit by bit) and not a streaming API.

/** Why an inflate failed: a corrupt stream, an output past the limit, or a checksum mismatch. */
export class InflateError extends Error {
  constructor(
    readonly kind: 'corrupt' | 'too-large' | 'adler',
    message: string,
  ) {
    super(message);
  }
}

interface Huffman {
  /** Codes of each length 0..15. */
  readonly count: Uint16Array;
  /** Symbols ordered by code. */
  readonly symbol: Uint16Array;
}

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Canonical Huffman table from code lengths; returns how many codes are left unused (< 0: over-subscribed). */
function build(lengths: ArrayLike<number>, n: number): { h: Huffman; left: number } {
  const count = new Uint16Array(16);
  for (let s = 0; s < n; s++) count[lengths[s]!]!++;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = left * 2 - count[len]!;
    if (left < 0) return { h: { count, symbol: new Uint16Array(0) }, left };
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + count[len]!;
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]!]!++] = s;
  return { h: { count, symbol }, left };
}

let fixed: { lit: Huffman; dist: Huffman } | null = null;

function fixedTables(): { lit: Huffman; dist: Huffman } {
  if (!fixed) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = { lit: build(l, 288).h, dist: build(new Uint8Array(30).fill(5), 30).h };
  }
  return fixed;
}

/** Adler-32 of `data`, as zlib's trailer holds it. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(i + 5552, data.length); // the longest run whose sums cannot overflow 2^53
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * Inflates a zlib stream into at most `maxOut` bytes and checks its Adler-32. Throws InflateError: 'corrupt'
 * for a malformed or truncated stream, 'too-large' past `maxOut`, 'adler' on a checksum mismatch.
 */
export function inflateZlib(src: Uint8Array, maxOut: number): Uint8Array {
  const bad = (m: string): never => {
    throw new InflateError('corrupt', m);
  };
  if (src.length < 2) bad('truncated zlib header');
  const cmf = src[0]!;
  const flg = src[1]!;
  if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) bad('incorrect zlib header');
  if (flg & 0x20) bad('a preset dictionary is required');
  let pos = 2;
  let bitbuf = 0;
  let bitcnt = 0;
  let out = new Uint8Array(Math.min(maxOut, Math.max(1024, src.length * 4)));
  let n = 0;
  const bits = (k: number): number => {
    while (bitcnt < k) {
      if (pos >= src.length) bad('truncated deflate stream');
      bitbuf |= src[pos++]! << bitcnt;
      bitcnt += 8;
    }
    const v = bitbuf & ((1 << k) - 1);
    bitbuf >>>= k;
    bitcnt -= k;
    return v;
  };
  const room = (k: number): void => {
    if (n + k <= out.length) return;
    if (n + k > maxOut) throw new InflateError('too-large', `inflates past ${maxOut} bytes`);
    const grown = new Uint8Array(Math.min(maxOut, Math.max(n + k, out.length * 2)));
    grown.set(out.subarray(0, n));
    out = grown;
  };
  const decode = (h: Huffman): number => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.count[len]!;
      if (code - count < first) return h.symbol[index + (code - first)]!;
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    return bad('invalid Huffman code');
  };
  for (let last = 0; !last; ) {
    last = bits(1);
    const type = bits(2);
    if (type === 0) {
      bitbuf = 0; // a stored block starts at a byte boundary
      bitcnt = 0;
      if (pos + 4 > src.length) bad('truncated stored block');
      const len = src[pos]! | (src[pos + 1]! << 8);
      if ((len ^ 0xffff) !== (src[pos + 2]! | (src[pos + 3]! << 8))) bad('stored block length check failed');
      pos += 4;
      if (pos + len > src.length) bad('truncated stored block');
      room(len);
      out.set(src.subarray(pos, pos + len), n);
      n += len;
      pos += len;
      continue;
    }
    let lit: Huffman;
    let dist: Huffman;
    if (type === 1) ({ lit, dist } = fixedTables());
    else if (type === 2) {
      const nlen = bits(5) + 257;
      const ndist = bits(5) + 1;
      const ncode = bits(4) + 4;
      if (nlen > 286 || ndist > 30) bad('too many length or distance codes');
      const lengths = new Uint8Array(320);
      for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i]!] = bits(3);
      const cl = build(lengths, 19);
      if (cl.left !== 0) bad('incomplete code-length code');
      lengths.fill(0);
      for (let i = 0; i < nlen + ndist; ) {
        const sym = decode(cl.h);
        if (sym < 16) {
          lengths[i++] = sym;
          continue;
        }
        let len = 0;
        let rep: number;
        if (sym === 16) {
          if (i === 0) bad('a repeat with no previous length');
          len = lengths[i - 1]!;
          rep = 3 + bits(2);
        } else rep = sym === 17 ? 3 + bits(3) : 11 + bits(7);
        if (i + rep > nlen + ndist) bad('too many code lengths');
        lengths.fill(len, i, i + rep);
        i += rep;
      }
      if (lengths[256] === 0) bad('no end-of-block code');
      const l = build(lengths, nlen);
      // Only a single-code incomplete table is allowed (as in zlib); distance codes may be incomplete.
      if (l.left < 0 || (l.left > 0 && nlen - l.h.count[0]! !== 1)) bad('invalid literal/length code lengths');
      const d = build(lengths.subarray(nlen), ndist);
      if (d.left < 0 || (d.left > 0 && ndist - d.h.count[0]! !== 1)) bad('invalid distance code lengths');
      lit = l.h;
      dist = d.h;
    } else return bad('invalid block type');
    for (;;) {
      const sym = decode(lit);
      if (sym < 256) {
        room(1);
        out[n++] = sym;
      } else if (sym === 256) break;
      else {
        const li = sym - 257;
        if (li >= 29) bad('invalid length code');
        const len = LEN_BASE[li]! + bits(LEN_EXTRA[li]!);
        const di = decode(dist);
        if (di >= 30) bad('invalid distance code');
        const d = DIST_BASE[di]! + bits(DIST_EXTRA[di]!);
        if (d > n) bad('distance too far back');
        room(len);
        for (let k = 0; k < len; k++, n++) out[n] = out[n - d]!;
      }
    }
  }
  // What remains of the last byte is padding; the big-endian Adler-32 follows.
  if (pos + 4 > src.length) bad('truncated zlib trailer');
  const want = ((src[pos]! << 24) | (src[pos + 1]! << 16) | (src[pos + 2]! << 8) | src[pos + 3]!) >>> 0;
  const data = out.subarray(0, n);
  if (adler32(data) !== want) throw new InflateError('adler', 'incorrect data check');
  return data;
}
