// NumPy .npy reading: the header is parsed as the Python literal it is (numpy reads it with
// ast.literal_eval), so duplicate keys, strings that contain key names, comments and odd spacing read
// exactly as numpy reads them; then numpy's own checks. Only little-endian f32/f64 in C order are returned.

/** A NumPy array read from .npy bytes: little-endian f32/f64, C order. */
export interface NpyArray {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy's _MAX_HEADER_SIZE: longer headers are refused as unsafe to evaluate. */
const MAX_HEADER_CHARS = 10000;
/** Nesting a literal may have (CPython's parser stops at 200 nested brackets; a header needs 2). */
const MAX_DEPTH = 100;

export function isNpy(b: Uint8Array): boolean {
  return NPY_MAGIC.every((v, i) => b[i] === v);
}

/** A Python tuple; lists are arrays, dicts Maps, sets PySet. */
class PyTuple {
  constructor(readonly items: readonly PyLit[]) {}
}
class PySet {
  constructor(readonly items: readonly PyLit[]) {}
}
/** A float or complex literal: kept as text, since a header never needs its value. */
class PyFloat {
  constructor(readonly raw: string) {}
}
type PyLit = null | boolean | bigint | string | Uint8Array | PyFloat | PyLit[] | PyTuple | PySet | Map<PyLit, PyLit>;

/** Python's repr of a value, short, for error messages. */
function repr(v: PyLit): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (v instanceof Uint8Array) return `b'…' (${v.length} bytes)`;
  if (v instanceof PyFloat) return v.raw;
  if (Array.isArray(v)) return `[${v.map(repr).join(', ')}]`;
  if (v instanceof PyTuple) return `(${v.items.map(repr).join(', ')}${v.items.length === 1 ? ',' : ''})`;
  if (v instanceof PySet) return `{${v.items.map(repr).join(', ')}}`;
  return `{${[...v].map(([k, x]) => `${repr(k)}: ${repr(x)}`).join(', ')}}`;
}

/** Dict keys compare by value, as Python's do (a bigint and a string key never collide; 1 == True). */
function keyOf(v: PyLit): PyLit {
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return v;
}

/**
 * Evaluates a Python literal the way ast.literal_eval accepts it: strings (with prefixes, escapes and
 * implicit concatenation), ints (with underscores and 0x/0o/0b), floats, True/False/None, tuples, lists,
 * dicts (a repeated key keeps the last value) and sets; comments and line continuations are skipped.
 * Throws a message naming the offset; never evaluates anything.
 */
export function parsePyLiteral(src: string): PyLit {
  let i = 0;
  let depth = 0;
  const fail = (m: string): never => {
    throw new Error(`${m} at character ${i}`);
  };
  const skip = (): void => {
    for (;;) {
      const c = src[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') i++;
      else if (c === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) i += src[i + 1] === '\n' ? 2 : 3;
      else if (c === '#') while (i < src.length && src[i] !== '\n') i++;
      else return;
    }
  };
  const str = (): string | Uint8Array => {
    let out: string | null = null;
    let bytes: number[] | null = null;
    // Adjacent literals concatenate ('a' 'b'); str and bytes do not mix.
    for (;;) {
      const m = /^([rRuUbB]{0,2})('''|"""|'|")/.exec(src.slice(i, i + 5));
      if (!m) break;
      const prefix = m[1]!.toLowerCase();
      if (!/^(|r|u|b|br|rb)$/.test(prefix)) fail(`bad string prefix '${m[1]}'`);
      const raw = prefix.includes('r');
      const isBytes = prefix.includes('b');
      const q = m[2]!;
      i += m[0].length;
      let s = '';
      for (;;) {
        if (i >= src.length) fail('unterminated string');
        if (src.startsWith(q, i)) {
          i += q.length;
          break;
        }
        const c = src[i]!;
        if (q.length === 1 && (c === '\n' || c === '\r')) fail('newline in a string');
        if (c !== '\\') {
          s += c;
          i++;
          continue;
        }
        const e = src[i + 1];
        if (e === undefined) fail('unterminated string');
        if (raw) {
          s += c + e;
          i += 2;
          continue;
        }
        i += 2;
        const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };
        if (Object.hasOwn(simple, e!)) s += simple[e!];
        else if (e === 'x' || (!isBytes && (e === 'u' || e === 'U'))) {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = src.slice(i, i + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail(`truncated \\${e} escape`);
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff) fail('escape past U+10FFFF');
          s += String.fromCodePoint(cp);
          i += n;
        } else if (e! >= '0' && e! <= '7') {
          const m8 = /^[0-7]{1,3}/.exec(src.slice(i - 1, i + 2))!;
          s += String.fromCharCode(parseInt(m8[0], 8));
          i += m8[0].length - 1;
        } else if (e === 'N' && !isBytes) fail('\\N{…} escapes are not supported');
        else s += `\\${e}`; // Python keeps unknown escapes as written
      }
      if (isBytes) {
        if (out !== null) fail('cannot mix str and bytes literals');
        bytes ??= [];
        for (const ch of s) {
          const cp = ch.codePointAt(0)!;
          if (cp > 0xff) fail('bytes can only contain ASCII literal characters');
          bytes.push(cp);
        }
      } else {
        if (bytes !== null) fail('cannot mix str and bytes literals');
        out = (out ?? '') + s;
      }
      skip();
    }
    return bytes !== null ? new Uint8Array(bytes) : out!;
  };
  const num = (): bigint | PyFloat => {
    const rest = src.slice(i, i + 200);
    const int = /^(0[xX](_?[0-9a-fA-F])+|0[oO](_?[0-7])+|0[bB](_?[01])+|0(_?0)*|[1-9](_?[0-9])*)(?![0-9a-zA-Z_.])/.exec(rest);
    if (int) {
      i += int[0].length;
      const t = int[0].replace(/_/g, '');
      const base = /^0[xX]/.test(t) ? 16 : /^0[oO]/.test(t) ? 8 : /^0[bB]/.test(t) ? 2 : 10;
      return base === 10 ? BigInt(t) : BigInt(`0${'xob'[[16, 8, 2].indexOf(base)]}${t.slice(2)}`);
    }
    const fl = /^((\d(_?\d)*)?\.(\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?|\d(_?\d)*[eE][+-]?\d(_?\d)*)[jJ]?|^\d(_?\d)*[jJ]/.exec(rest);
    if (!fl || fl[0] === '.' || /^\.[eEjJ]/.test(fl[0])) return fail('bad number');
    i += fl[0].length;
    return new PyFloat(fl[0]);
  };
  const value = (): PyLit => {
    skip();
    const c = src[i];
    if (c === undefined) return fail('unexpected end');
    if (c === '+' || c === '-') {
      i++;
      skip();
      const c2 = src[i];
      // literal_eval takes one sign on a number literal (-1, +2.5), not on anything else, and not two.
      if (c2 === undefined || !/[0-9.]/.test(c2)) fail(`'${c}' before a non-number`);
      const v = value();
      if (typeof v === 'bigint') return c === '-' ? -v : v;
      if (v instanceof PyFloat) return new PyFloat(`${c}${v.raw}`);
      return fail(`'${c}' before a non-number`);
    }
    if (/[0-9.]/.test(c)) return num();
    if (/['"]/.test(c) || /^[rRuUbB]{1,2}['"]/.test(src.slice(i, i + 3))) return str();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i, i + 64));
    if (word) {
      i += word[0].length;
      if (word[0] === 'True') return true;
      if (word[0] === 'False') return false;
      if (word[0] === 'None') return null;
      return fail(`name '${word[0]}' is not a literal`);
    }
    const close = c === '(' ? ')' : c === '[' ? ']' : c === '{' ? '}' : null;
    if (close === null) return fail(`unexpected '${c}'`);
    if (++depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    i++;
    const items: PyLit[] = [];
    const pairs: [PyLit, PyLit][] = [];
    let isDict: boolean | null = c === '{' ? null : false;
    let comma = false;
    for (;;) {
      skip();
      if (src[i] === close) {
        i++;
        break;
      }
      if (items.length + pairs.length > 0 && !comma) fail(`expected ',' or '${close}'`);
      const k = value();
      skip();
      if (isDict === null) isDict = src[i] === ':';
      if (isDict) {
        if (src[i] !== ':') fail("expected ':'");
        i++;
        pairs.push([k, value()]);
        skip();
      } else items.push(k);
      comma = src[i] === ',';
      if (comma) i++;
      else if (src[i] !== close) fail(`expected ',' or '${close}'`);
    }
    depth--;
    if (c === '[') return items;
    if (c === '(') return items.length === 1 && !comma ? items[0]! : new PyTuple(items);
    if (isDict !== false) {
      // A dict display: a repeated key keeps its first position and its last value, as in Python.
      const d = new Map<PyLit, PyLit>();
      const byKey = new Map<PyLit, PyLit>();
      for (const [k, v] of pairs) {
        const kk = keyOf(k);
        if (kk instanceof PyFloat || Array.isArray(kk) || kk instanceof Map || kk instanceof PySet) fail(`unhashable or unsupported dict key ${repr(k)}`);
        const first = byKey.get(kk);
        if (first === undefined) byKey.set(kk, k);
        d.set(first ?? k, v);
      }
      return d;
    }
    return new PySet(items);
  };
  const v = value();
  skip();
  if (i !== src.length) fail('unexpected text after the literal');
  return v;
}

/**
 * Reads a .npy file (format versions 1.0, 2.0 and 3.0). The header is evaluated as numpy evaluates it
 * (a Python dict literal with exactly the keys descr, fortran_order and shape), then checked as numpy
 * checks it. Returns '<f4' and '<f8' arrays in C order; throws naming the file and the field for
 * anything else (other dtypes, Fortran order, truncated data).
 */
export function readNpy(bytes: Uint8Array | ArrayBuffer, name = 'npy'): NpyArray {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const where = `readNpy: '${name}'`;
  if (b.length < 10 || !isNpy(b)) throw new Error(`${where} is not a .npy file (no \\x93NUMPY signature)`);
  const major = b[6]!;
  const minor = b[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw new Error(`${where}: unsupported .npy format version ${major}.${minor} (numpy reads 1.0, 2.0 and 3.0)`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const start = major === 1 ? 10 : 12;
  if (b.length < start) throw new Error(`${where} is truncated: no header length`);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (start + headerLen > b.length) throw new Error(`${where} is truncated: the header needs ${headerLen} bytes, ${b.length - start} remain`);
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(b.subarray(start, start + headerLen));
  } catch {
    throw new Error(`${where}: the version 3 header is not valid UTF-8`);
  }
  if (header.length > MAX_HEADER_CHARS) throw new Error(`${where}: header of ${header.length} characters is over numpy's limit of ${MAX_HEADER_CHARS}`);
  let d: PyLit;
  try {
    d = parsePyLiteral(header);
  } catch (e) {
    throw new Error(`${where}: cannot parse the header ${JSON.stringify(header.slice(0, 200))}: ${(e as Error).message}`);
  }
  if (!(d instanceof Map)) throw new Error(`${where}: the header is ${repr(d).slice(0, 200)}, not a dict`);
  const keys = [...d.keys()];
  const wanted = ['descr', 'fortran_order', 'shape'];
  if (keys.length !== 3 || !wanted.every((k) => d.has(k))) throw new Error(`${where}: header does not contain the correct keys: [${keys.map(repr).sort().join(', ')}]`);
  const shapeV = d.get('shape')!;
  // numpy: a tuple of ints (numpy 2 refuses bools there too).
  if (!(shapeV instanceof PyTuple) || !shapeV.items.every((x) => typeof x === 'bigint')) throw new Error(`${where}: shape is not valid: ${repr(shapeV)}`);
  const shapeBig = shapeV.items;
  if (shapeBig.some((x) => x < 0n)) throw new Error(`${where}: shape ${repr(shapeV)} has a negative dimension`);
  const fortran = d.get('fortran_order');
  if (typeof fortran !== 'boolean') throw new Error(`${where}: fortran_order is not a valid bool: ${repr(fortran!)}`);
  const descr = d.get('descr');
  if (descr !== '<f4' && descr !== '<f8')
    throw new Error(`${where}: dtype ${repr(descr!)} is not supported (only little-endian float32 '<f4' and float64 '<f8')`);
  if (fortran) throw new Error(`${where}: Fortran-order arrays are not supported (save with np.ascontiguousarray)`);
  const itemSize = descr === '<f4' ? 4 : 8;
  const offset = start + headerLen;
  const count = shapeBig.reduce((a, x) => a * x, 1n);
  const have = BigInt(b.length - offset);
  if (count * BigInt(itemSize) > have)
    throw new Error(`${where} is truncated: shape (${shapeBig.join(', ')}) needs ${count * BigInt(itemSize)} bytes of data, found ${have}`);
  const n = Number(count);
  // A copy of exactly the data bytes: a Node Buffer's slice() is a view whose .buffer is the whole pool.
  const raw = new Uint8Array(b.subarray(offset, offset + n * itemSize)).buffer;
  // Dimensions of an empty array may exceed 2^53 without any data to read; Kiln's shapes are numbers.
  if (shapeBig.some((x) => x > BigInt(Number.MAX_SAFE_INTEGER))) throw new Error(`${where}: shape (${shapeBig.join(', ')}) has a dimension past 2^53`);
  return { shape: shapeBig.map(Number), data: itemSize === 4 ? new Float32Array(raw) : new Float64Array(raw) };
}
