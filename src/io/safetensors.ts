// safetensors read and write: an 8-byte little-endian header length, a JSON header ({ name: { dtype, shape,
// data_offsets } }, optional "__metadata__"), then the raw little-endian bytes. Reading validates the whole
// header first and then streams one tensor at a time from a file handle; writing is atomic (atomic.ts).

import { gpu } from '../device/gpu.js';
import { fromHalfBits } from '../kernels/f16.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { JsonNumber, type JsonValue, parseJson } from './json.js';

const OP = 'safetensors';
/** Headers past this are refused before being read (upstream's limit is 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'BOOL' | 'U8';
const ITEM_SIZE: Readonly<Record<SafetensorsDType, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, BOOL: 1, U8: 1 };

/** A path (Node: read by ranges from a file handle) or the file's bytes. */
export type SafetensorsSource = string | Uint8Array | ArrayBuffer;

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Byte range [begin, end) relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
}

export interface LoadSafetensorsOptions {
  /** Convert every float tensor to this dtype; by default F16 stays f16 (f32 without shader-f16), BF16 becomes f32. */
  readonly dtype?: 'f16' | 'f32';
}

export interface SafetensorsHeader {
  readonly tensors: readonly SafetensorsTensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Byte offset of the data section in the file (8 + header length). */
  readonly dataStart: number;
}

// ---- header ----------------------------------------------------------------------------------------------

const fail = (msg: string): never => {
  throw new Error(`${OP}: ${msg}`);
};

const U64_MAX = (1n << 64n) - 1n;

/** A JSON value's kind, for errors (never the value itself, which may be huge or deeply nested). */
function kindOf(v: JsonValue): string {
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return `the number ${v.raw.length > 40 ? `${v.raw.slice(0, 40)}…` : v.raw}`;
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Map) return 'an object';
  return typeof v === 'string' ? 'a string' : 'a boolean';
}

/**
 * A list of usize values as the reference (serde) reads them: integers written without sign, fraction or
 * exponent, each at most 2^64 − 1. Returns them as bigints, or null when any element is not one.
 */
function usizeList(v: JsonValue | undefined): bigint[] | null {
  if (!Array.isArray(v)) return null;
  const out: bigint[] = [];
  for (const x of v) {
    if (!(x instanceof JsonNumber) || !x.isUnsigned) return null;
    const n = BigInt(x.raw);
    if (n > U64_MAX) return null;
    out.push(n);
  }
  return out;
}

/** Parses and validates a header: JSON, known dtypes, integer shapes, offsets in range, contiguous and covering the data. */
export function parseHeader(headerBytes: Uint8Array, dataBytes: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let json: JsonValue;
  try {
    json = parseJson(text, 'header');
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (!(json instanceof Map)) return fail(`the header must be a JSON object, got ${kindOf(json)}`);
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, v] of json) {
    if (name === '__metadata__') {
      if (v === null) continue; // serde reads null as no metadata
      if (!(v instanceof Map)) return fail(`__metadata__ must be an object of strings, got ${kindOf(v)}`);
      for (const [k, s] of v) {
        if (typeof s !== 'string') return fail(`__metadata__.${k} must be a string, got ${kindOf(s)}`);
        metadata[k] = s;
      }
      continue;
    }
    if (!(v instanceof Map)) return fail(`tensor '${name}': entry must be an object, got ${kindOf(v)}`);
    const dtype = v.get('dtype');
    if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_SIZE, dtype))
      return fail(`tensor '${name}': unsupported dtype ${typeof dtype === 'string' ? JSON.stringify(dtype) : kindOf(dtype ?? null)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`);
    const shapeRaw = v.get('shape');
    const shapeBig = usizeList(shapeRaw);
    const shown = (x: JsonValue | undefined): string => (Array.isArray(x) ? `[${x.map((e) => (e instanceof JsonNumber ? e.raw : kindOf(e))).join(', ')}]` : kindOf(x ?? null));
    if (!shapeBig) return fail(`tensor '${name}': shape must be an array of non-negative integers (no fraction or exponent, at most 2^64 - 1), got ${shown(shapeRaw)}`);
    const offRaw = v.get('data_offsets');
    const offBig = usizeList(offRaw);
    if (!offBig || offBig.length !== 2 || offBig[0]! > offBig[1]!)
      return fail(`tensor '${name}': data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${shown(offRaw)}`);
    // Elements and bytes in the reference's order: a product that overflows 64 bits on the way is refused.
    let n = 1n;
    for (const d of shapeBig) {
      n *= d;
      if (n > U64_MAX) return fail(`tensor '${name}': shape [${shapeBig.join(', ')}] overflows 64 bits (its element count is at least ${n})`);
    }
    const wantBig = n * BigInt(ITEM_SIZE[dtype as SafetensorsDType] * 8);
    if (wantBig > U64_MAX) return fail(`tensor '${name}': shape [${shapeBig.join(', ')}] of ${dtype} overflows 64 bits in bits`);
    const want = wantBig / 8n;
    const [begin, end] = offBig as [bigint, bigint];
    if (end - begin !== want) return fail(`tensor '${name}': ${dtype} [${shapeBig.join(',')}] needs ${want} bytes but data_offsets span ${end - begin}`);
    if (end > BigInt(dataBytes)) return fail(`tensor '${name}': data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes)`);
    if (shapeBig.some((d) => d > BigInt(Number.MAX_SAFE_INTEGER)))
      return fail(`tensor '${name}': shape [${shapeBig.join(', ')}] has a dimension past 2^53, which Kiln cannot index`);
    tensors.push({ name, dtype: dtype as SafetensorsDType, shape: shapeBig.map(Number), dataOffsets: [Number(begin), Number(end)] });
  }
  // The tensors must tile the data section exactly, without gaps or overlaps.
  const byOffset = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let at = 0;
  for (const t of byOffset) {
    if (t.dataOffsets[0] !== at) return fail(`tensor '${t.name}': data starts at ${t.dataOffsets[0]}, expected ${at} (offsets must be contiguous, without gaps or overlaps)`);
    at = t.dataOffsets[1];
  }
  if (at !== dataBytes) return fail(`the tensors cover ${at} bytes of data but the file holds ${dataBytes}`);
  return { tensors, metadata, dataStart: 0 };
}

// ---- reading -------------------------------------------------------------------------------------------

interface Reader {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function openReader(source: SafetensorsSource): Promise<Reader> {
  if (typeof source !== 'string') {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    // A copy (Uint8Array's slice, even for a Node Buffer whose slice is a view): each read owns an aligned, 0-offset buffer.
    return { size: bytes.length, read: (o, n) => Promise.resolve(Uint8Array.prototype.slice.call(bytes, o, o + n)), close: () => Promise.resolve() };
  }
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  const fh = await fs.open(source, 'r');
  const size = (await fh.stat()).size;
  return {
    size,
    async read(offset, length) {
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(out, got, length - got, offset + got);
        if (bytesRead === 0) fail(`unexpected end of file at byte ${offset + got}`);
        got += bytesRead;
      }
      return out;
    },
    close: () => fh.close(),
  };
}

async function readHeader(r: Reader): Promise<SafetensorsHeader> {
  if (r.size < 8) fail(`the file is ${r.size} bytes, too short for the 8-byte header length`);
  const lenBytes = await r.read(0, 8);
  const len = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (len > BigInt(MAX_HEADER_BYTES)) fail(`header length ${len} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(len);
  if (8 + n > r.size) fail(`header length ${n} runs past the end of the file (${r.size} bytes)`);
  const h = parseHeader(await r.read(8, n), r.size - 8 - n);
  return { ...h, dataStart: 8 + n };
}

function halfToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromHalfBits(bits[i]!);
  return out;
}

function toTensor(b: Uint8Array, info: SafetensorsTensorInfo, opts: LoadSafetensorsOptions): Tensor {
  const floatOut = (native: 'f16' | 'f32'): 'f16' | 'f32' => {
    const want = opts.dtype ?? native;
    return want === 'f16' && !gpu(OP).hasF16 && opts.dtype === undefined ? 'f32' : want;
  };
  const { shape, name } = info;
  const n = shape.reduce((a, c) => a * c, 1);
  const buf = b.buffer; // b is a fresh, 0-offset copy: every typed view below is aligned
  switch (info.dtype) {
    case 'F32':
      return tensor(new Float32Array(buf, 0, n), { shape, dtype: floatOut('f32') });
    case 'F16':
      return tensor(halfToF32(new Uint16Array(buf, 0, n)), { shape, dtype: floatOut('f16') });
    case 'BF16': {
      const src = new Uint16Array(buf, 0, n); // bf16 is the top half of an f32: widening is exact
      const wide = new Uint32Array(n);
      for (let i = 0; i < n; i++) wide[i] = src[i]! << 16;
      return tensor(new Float32Array(wide.buffer), { shape, dtype: floatOut('f32') });
    }
    case 'I32':
      return tensor(new Int32Array(buf, 0, n), { shape, dtype: 'i32' });
    case 'I64': {
      const w = new Int32Array(buf, 0, 2 * n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        if (w[2 * i + 1] !== w[2 * i]! >> 31) fail(`tensor '${name}' (I64) holds a value outside the i32 range at flat index ${i}`);
        out[i] = w[2 * i]!;
      }
      return tensor(out, { shape, dtype: 'i32' });
    }
    case 'BOOL':
      return tensor(new Uint8Array(buf, 0, n), { shape, dtype: 'bool' });
    case 'U8':
      return tensor(Int32Array.from(new Uint8Array(buf, 0, n)), { shape, dtype: 'i32' });
    default:
      return info.dtype satisfies never;
  }
}

/** The header of a safetensors file (names, dtypes, shapes, metadata) without reading any tensor data. */
export async function listSafetensors(source: SafetensorsSource): Promise<SafetensorsHeader> {
  const r = await openReader(source);
  try {
    return await readHeader(r);
  } finally {
    await r.close();
  }
}

/**
 * Yields [name, tensor] one at a time in file order, reading each tensor's bytes only when it is reached,
 * so a checkpoint streams into a model (model.loadWeights) without being held whole in memory.
 * @example for await (const [name, t] of kiln.io.iterateSafetensors('model.safetensors')) …
 */
export async function* iterateSafetensors(source: SafetensorsSource, opts: LoadSafetensorsOptions = {}): AsyncGenerator<[string, Tensor]> {
  const r = await openReader(source);
  try {
    const h = await readHeader(r);
    const order = [...h.tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
    for (const info of order) {
      const [begin, end] = info.dataOffsets;
      yield [info.name, toTensor(await r.read(h.dataStart + begin, end - begin), info, opts)];
    }
  } finally {
    await r.close();
  }
}

/** Reads every tensor of a safetensors file into a Map (name → tensor). @example const sd = await kiln.io.loadSafetensors('m.safetensors'); */
export async function loadSafetensors(source: SafetensorsSource, opts: LoadSafetensorsOptions = {}): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  try {
    for await (const [name, t] of iterateSafetensors(source, opts)) out.set(name, t);
  } catch (e) {
    for (const t of out.values()) t.dispose(); // a later tensor failing leaves none of the earlier ones live
    throw e;
  }
  return out;
}

// ---- writing -------------------------------------------------------------------------------------------

function encodeTensor(t: Tensor, bytes: Uint8Array | Float32Array | Int32Array | Uint32Array | Uint16Array): { dtype: SafetensorsDType; data: Uint8Array } {
  const view = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (t.dtype) {
    case 'f32':
      return { dtype: 'F32', data: view(bytes) };
    case 'f16':
      return { dtype: 'F16', data: view(bytes) };
    case 'i32':
      return { dtype: 'I32', data: view(bytes) };
    case 'u32':
      return fail(`cannot write dtype u32 (safetensors has no U32 that PyTorch reads); cast to i32`);
    case 'bool':
      return { dtype: 'BOOL', data: Uint8Array.from(bytes as Uint32Array, (v) => (v ? 1 : 0)) };
    default:
      return t.dtype satisfies never;
  }
}

/**
 * Writes tensors (a Map, a record or [name, tensor] pairs) as safetensors to `path`, atomically: to a
 * temporary name unique to this process and call, then renamed, so a crash or a concurrent save never
 * leaves a torn file under the final name. Metadata values must be strings (the format allows no other).
 * @example await kiln.io.saveSafetensors('model.safetensors', model.stateDict(), { format: 'pt' });
 */
export async function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>> | Iterable<readonly [string, Tensor]>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const save = (msg: string): never => {
    throw new Error(`saveSafetensors: ${msg}`);
  };
  // Checked before any tensor is read back, so a bad call costs nothing and writes nothing.
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) save(`metadata must be an object of strings, got ${Array.isArray(metadata) ? 'an array' : typeof metadata}`);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') save(`metadata '${k}' is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`}, not a string (safetensors metadata holds strings only)`);
  const entries: (readonly [string, Tensor])[] =
    tensors instanceof Map ? [...(tensors as ReadonlyMap<string, Tensor>)] : Symbol.iterator in (tensors as object) ? [...(tensors as Iterable<readonly [string, Tensor]>)] : Object.entries(tensors as Record<string, Tensor>);
  const names = new Set<string>();
  for (const [name] of entries) {
    if (typeof name !== 'string') save(`tensor names must be strings, got ${typeof name}`);
    if (name === '__metadata__' || names.has(name)) save(`duplicate or reserved tensor name '${name}'`);
    names.add(name);
  }
  // A prototype-less object: a tensor may be called 'constructor' or '__proto__'.
  const header = Object.create(null) as Record<string, unknown>;
  if (Object.keys(metadata).length) header['__metadata__'] = { ...metadata };
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const [name, t] of entries) {
    const { dtype, data } = encodeTensor(t, await t.rawData());
    header[name] = { dtype, shape: [...t.shape], data_offsets: [at, at + data.byteLength] };
    chunks.push(data);
    at += data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // pad with spaces so the data starts 8-byte aligned
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  await writeFileAtomic(path, [len, json, ...chunks], 'saveSafetensors');
}
