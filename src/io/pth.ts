// PyTorch checkpoints (`torch.save` zip archives, .pth/.pt) read into GPU tensors: the archive by ranges,
// data.pkl through the restricted unpickler, each tensor's strided slice of its storage converted to a
// Kiln dtype. Not a writer, and not the pre-1.6 pickle-only format (refused with the conversion route).

import { gpu } from '../device/gpu.js';
import { fromHalfBits } from '../kernels/f16.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { PyDict, PyTuple, TensorRef, describe, torchItemSize, unpickle, type PickleValue, type TorchDType } from './pickle.js';
import { ZipArchive, blobSource, bytesSource, fileSource, type ByteSource, type ZipEntry } from './zip.js';
import type { ProgressCallback } from '../progress.js';

/** A path (Node), the file's bytes, or a Blob/File (browsers; read by ranges). */
export type PthSource = string | Uint8Array | ArrayBuffer | Blob;

export interface LoadPthOptions {
  /** Called before the first tensor and after each one is read (unit 'tensors', with its name). */
  readonly onProgress?: ProgressCallback;
  /**
   * Convert every floating-point tensor to this dtype. By default f16 stays f16 (f32 on an adapter
   * without shader-f16) and bf16/f64 become f32.
   */
  readonly dtype?: 'f16' | 'f32';
  /**
   * Where the state dict sits in a checkpoint (`'state_dict'`, or a path `['model', 'ema']`). By default
   * the top-level dict if it holds tensors, else the first of state_dict, model_state_dict, model, module,
   * net, network, params that does, else the only nested dict that holds tensors.
   */
  readonly key?: string | readonly string[];
  /** Verify the CRC-32 of storages read whole (default true; costs ~1 s per GB). */
  readonly checkCrc?: boolean;
}

/** A tensor's entry in the checkpoint, before any data is read. */
export interface PthTensorInfo {
  /** The key as a string: a str key as is, a number in decimal (`int:1` when a str key is already `'1'`). */
  readonly name: string;
  /** The key as torch.load gives it: a str, or a number (a bigint for an int past 2^53). */
  readonly key: string | number | bigint;
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  /** In elements of `dtype`. */
  readonly offset: number;
  /** The storage's archive key (`data/<storage>`); views of one storage share it. */
  readonly storage: string;
}

const OP = 'loadPth';
const MAX_PICKLE_BYTES = 1 << 30;
/** Most GPU bytes loaded per archive byte. */
const MAX_EXPANSION = 64;
const PREFERRED_KEYS = ['state_dict', 'model_state_dict', 'model', 'module', 'net', 'network', 'params'];
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const CONVERT_HINT =
  "re-save it in the zip format with torch.save(torch.load(path), path, _use_new_zipfile_serialization=True), or convert it to safetensors";

interface Plan {
  readonly info: PthTensorInfo;
  readonly ref: TensorRef;
  readonly entry: ZipEntry;
  /** First and one-past-last storage element the tensor reads. */
  readonly first: number;
  readonly end: number;
  readonly numel: number;
}

interface Opened {
  readonly zip: ZipArchive;
  readonly plans: readonly Plan[];
}

/**
 * Reads a PyTorch state dict into a Map of GPU tensors, in the checkpoint's key order. Views of one
 * storage become separate tensors with the views' values; i64 becomes i32 (values out of range throw),
 * bf16 and f64 become f32, i8/i16/u8 become i32, bool stays bool. Values that are not tensors are skipped;
 * `requires_grad` is not carried over. Int keys are named in decimal, `'int:1'` where a str key `'1'`
 * also exists, so both tensors are kept as torch.load keeps them.
 * @example const sd = await kiln.io.loadPth('model.pth'); model.loadStateDict(sd);
 */
export async function loadPth(source: PthSource, opts: LoadPthOptions = {}): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  try {
    for await (const [name, t] of iteratePth(source, opts)) {
      out.get(name)?.dispose(); // names are unique (plan checks); never leak one if that ever changed
      out.set(name, t);
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

/**
 * Yields the state dict's tensors one at a time, reading only that tensor's bytes, so a model larger
 * than memory twice over still loads. The whole layout is validated before the first tensor is yielded.
 * @example for await (const [name, t] of kiln.io.iteratePth('model.pth')) params.get(name)!.copy_(t);
 */
export async function* iteratePth(source: PthSource, opts: LoadPthOptions = {}): AsyncGenerator<[string, Tensor]> {
  if (opts.dtype !== undefined && opts.dtype !== 'f16' && opts.dtype !== 'f32')
    throw new Error(`${OP}: option dtype must be 'f16' or 'f32', got ${JSON.stringify(opts.dtype)}`);
  const { zip, plans } = await open(source, opts);
  try {
    // No allocation from an unchecked size: a stride-0 expand can claim far more elements than its
    // storage holds, so every tensor is checked against one GPU buffer before anything is read.
    const maxBytes = gpu(OP).info.limits['maxBufferSize'] || 2 ** 31;
    let total = 0;
    for (const { info, numel } of plans) {
      if (numel * 4 > maxBytes)
        throw new Error(`${OP}: tensor '${info.name}': ${numel} elements (shape [${info.shape.join(', ')}]) exceed what one GPU buffer holds (${maxBytes} bytes)`);
      total += numel * 4;
    }
    // Widening (i8 → i32) and shared views stay far below this; only stride-0 views blow past it.
    const budget = zip.source.size * MAX_EXPANSION + 2 ** 26;
    if (total > budget)
      throw new Error(`${OP}: the tensors would expand the ${zip.source.size}-byte archive to ${total} bytes (stride-0 views?), over the ${budget}-byte limit`);
    let done = 0;
    opts.onProgress?.({ done, total: plans.length, unit: 'tensors' });
    for (const p of plans) {
      let t: Tensor;
      try {
        t = await materialize(zip, p, opts);
      } catch (e) {
        throw prefixed(e);
      }
      done += 1;
      opts.onProgress?.({ done, total: plans.length, unit: 'tensors', name: p.info.name });
      yield [p.info.name, t];
    }
  } finally {
    await zip.close();
  }
}

/**
 * Lists the state dict's tensors (name, torch dtype, shape, stride, storage) without reading their data.
 * @example for (const t of await kiln.io.listPth('model.pth')) console.log(t.name, t.shape);
 */
export async function listPth(source: PthSource, opts: Pick<LoadPthOptions, 'key'> = {}): Promise<PthTensorInfo[]> {
  const { zip, plans } = await open(source, opts);
  await zip.close();
  return plans.map((p) => p.info);
}

/** A whole checkpoint as torch.load gives it: the unpickled tree, and each of its tensors read to the GPU. */
export interface PthTree {
  /** The object graph (dicts as PyDict, tuples as PyTuple, tensors as TensorRef). */
  readonly root: PickleValue;
  /** The GPU tensor of every TensorRef in `root` (the caller owns them). */
  readonly tensors: ReadonlyMap<TensorRef, Tensor>;
}

/**
 * Reads a whole checkpoint (an OpenCLIP training checkpoint with its optimizer state, say): the tree as
 * unpickled, with every tensor anywhere in it read as loadPth reads a state dict's.
 * @example const { root, tensors } = await kiln.io.loadPthTree('epoch_3.pt');
 */
export async function loadPthTree(source: PthSource, opts: Omit<LoadPthOptions, 'key'> = {}): Promise<PthTree> {
  const src = await toByteSource(source);
  let zip: ZipArchive;
  try {
    zip = await ZipArchive.open(src);
  } catch (e) {
    await src.close();
    throw prefixed(e);
  }
  const tensors = new Map<TensorRef, Tensor>();
  try {
    const pkl = zip.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (!pkl) throw new Error('not a torch.save archive: no <folder>/data.pkl record');
    const prefix = pkl.name.slice(0, -'data.pkl'.length);
    const root = unpickle(await zip.read(pkl, { maxSize: MAX_PICKLE_BYTES }));
    const walk = async (v: PickleValue, path: string, depth: number): Promise<void> => {
      if (depth > 64) throw new Error(`${path}: nested deeper than 64 levels`);
      if (v instanceof TensorRef) {
        if (!tensors.has(v)) tensors.set(v, await materialize(zip, planTensor(zip, prefix, path, path, v), opts));
      } else if (v instanceof PyDict) for (const [k, x] of v.map) await walk(x, `${path}[${typeof k === 'string' ? JSON.stringify(k) : describe(k)}]`, depth + 1);
      else if (v instanceof PyTuple) for (const [i, x] of v.items.entries()) await walk(x, `${path}[${i}]`, depth + 1);
      else if (Array.isArray(v)) for (const [i, x] of v.entries()) await walk(x, `${path}[${i}]`, depth + 1);
    };
    await walk(root, 'checkpoint', 0);
    return { root, tensors };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw prefixed(e);
  } finally {
    await zip.close();
  }
}

async function toByteSource(source: PthSource): Promise<ByteSource> {
  if (typeof source === 'string') return fileSource(source);
  if (source instanceof Uint8Array) return bytesSource(source);
  if (source instanceof ArrayBuffer) return bytesSource(new Uint8Array(source));
  if (typeof Blob !== 'undefined' && source instanceof Blob) return blobSource(source);
  throw new Error(`${OP}: expected a path, a Uint8Array, an ArrayBuffer or a Blob`);
}

async function open(source: PthSource, opts: Pick<LoadPthOptions, 'key'>): Promise<Opened> {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error(`${OP}: big-endian hosts are not supported`);
  const src = await toByteSource(source);
  try {
    const head = await src.read(0, Math.min(src.size, LEGACY_MAGIC.length));
    if (head.length === LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => head[i] === b))
      throw new Error(`${OP}: this is a legacy (pre-1.6, non-zip) torch.save file, which is not supported: ${CONVERT_HINT}`);
    if (head[0] === 0x80) throw new Error(`${OP}: this is a bare pickle stream, not a torch.save zip archive: ${CONVERT_HINT}`);
    const zip = await ZipArchive.open(src);
    return { zip, plans: await plan(zip, opts) };
  } catch (e) {
    await src.close();
    throw prefixed(e);
  }
}

function prefixed(e: unknown): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  return err.message.startsWith(`${OP}:`) ? err : new Error(`${OP}: ${err.message}`, { cause: err });
}

async function plan(zip: ZipArchive, opts: Pick<LoadPthOptions, 'key'>): Promise<Plan[]> {
  // torch writes every record under one folder (`archive/` now, the file's stem in older versions).
  const pkls = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pkls.length !== 1) {
    if (zip.entries.some((e) => /^[^/]+\/constants\.pkl$/.test(e.name)))
      throw new Error('this is a TorchScript archive (torch.jit.save), not a state dict; save model.state_dict() with torch.save');
    throw new Error(pkls.length ? 'the archive holds several data.pkl records' : 'not a torch.save archive: no <folder>/data.pkl record');
  }
  const prefix = pkls[0]!.name.slice(0, -'data.pkl'.length);
  const order = zip.get(`${prefix}byteorder`);
  if (order) {
    const s = new TextDecoder().decode(await zip.read(order, { maxSize: 16 }));
    if (s !== 'little') throw new Error(`the checkpoint was written with '${s}' byte order; only little-endian is supported`);
  }
  const root = unpickle(await zip.read(pkls[0]!, { maxSize: MAX_PICKLE_BYTES }));
  const dict = selectStateDict(root, opts.key);
  const plans: Plan[] = [];
  const strKeys = new Set([...dict.map.keys()].filter((k) => typeof k === 'string'));
  const names = new Set<string>();
  for (const [k, v] of dict.map) {
    if (!(v instanceof TensorRef)) continue; // `_extra_state`, counters and other non-tensors
    if (typeof k !== 'string' && typeof k !== 'bigint' && typeof k !== 'number') throw new Error(`a state dict key is a ${describe(k)}, not a string or a number`);
    // torch.load keeps 1 and '1' as two keys; so does Kiln, naming the int one apart.
    let name = String(k);
    if (typeof k !== 'string' && strKeys.has(name)) name = `int:${name}`;
    if (names.has(name)) throw new Error(`two state dict keys are both named '${name}' (an int key and a str key spelled 'int:…')`);
    names.add(name);
    plans.push(planTensor(zip, prefix, name, k, v));
  }
  return plans;
}

function selectStateDict(root: PickleValue, key: LoadPthOptions['key']): PyDict {
  if (!(root instanceof PyDict)) throw new Error(`the checkpoint holds a ${describe(root)}, not a dict of tensors`);
  if (key !== undefined) {
    let cur: PickleValue = root;
    const path = typeof key === 'string' ? [key] : key;
    for (let i = 0; i < path.length; i++) {
      const k = path[i]!;
      if (!(cur instanceof PyDict) || !cur.map.has(k)) {
        const where = path.slice(0, i).map((p) => `[${JSON.stringify(p)}]`).join('') || 'the top level';
        throw new Error(`key ${JSON.stringify(k)} not found at ${where}; keys there: ${keysOf(cur)}`);
      }
      cur = cur.map.get(k)!;
    }
    if (!(cur instanceof PyDict)) throw new Error(`${JSON.stringify(key)} holds a ${describe(cur)}, not a state dict`);
    return cur;
  }
  const found = autoDetect(root, 0);
  if (!found) throw new Error(`no state dict found (no dict of tensors); top-level keys: ${keysOf(root)}. Pass { key } to pick one`);
  return found;
}

function holdsTensors(d: PyDict): boolean {
  for (const v of d.map.values()) if (v instanceof TensorRef) return true;
  return false;
}

function autoDetect(d: PyDict, depth: number): PyDict | null {
  if (holdsTensors(d)) return d;
  if (depth >= 3) return null;
  for (const k of PREFERRED_KEYS) {
    const v = d.map.get(k);
    const found = v instanceof PyDict ? autoDetect(v, depth + 1) : null;
    if (found) return found;
  }
  const nested = [...d.map.values()].filter((v): v is PyDict => v instanceof PyDict && holdsTensors(v));
  return nested.length === 1 ? nested[0]! : null;
}

function keysOf(v: PickleValue): string {
  if (!(v instanceof PyDict)) return `(a ${describe(v)})`;
  const ks = [...v.map.keys()].map((k) => (typeof k === 'string' ? JSON.stringify(k) : describe(k)));
  return ks.length > 20 ? `${ks.slice(0, 20).join(', ')}, … (${ks.length})` : ks.join(', ') || '(none)';
}

function planTensor(zip: ZipArchive, prefix: string, name: string, key: string | number | bigint, ref: TensorRef): Plan {
  const where = `tensor '${name}'`;
  const entry = zip.get(`${prefix}data/${ref.storage.key}`);
  if (!entry) throw new Error(`${where}: its storage '${ref.storage.key}' has no record ${prefix}data/${ref.storage.key} in the archive`);
  const storageBytes = ref.storage.numel * torchItemSize(ref.storage.dtype);
  if (entry.size < storageBytes)
    throw new Error(`${where}: storage '${ref.storage.key}' declares ${storageBytes} bytes but its record holds ${entry.size}`);
  // A compressed record is inflated whole (its CRC covers all of it), so it may not declare more than its
  // storage needs: a small record inflating to gigabytes for a one-element tensor is refused before inflating.
  if (entry.method !== 0 && entry.size > storageBytes)
    throw new Error(`${where}: compressed record ${entry.name} declares ${entry.size} bytes but storage '${ref.storage.key}' needs only ${storageBytes}; refusing to inflate more than a storage needs`);
  const es = torchItemSize(ref.dtype);
  let numel = 1;
  let last = ref.offset;
  for (let i = 0; i < ref.shape.length; i++) {
    numel *= ref.shape[i]!;
    last += Math.max(ref.shape[i]! - 1, 0) * ref.stride[i]!;
  }
  const first = numel === 0 ? 0 : ref.offset;
  const end = numel === 0 ? 0 : last + 1;
  if (end * es > storageBytes || !Number.isSafeInteger(end * es))
    throw new Error(
      `${where}: shape [${ref.shape.join(', ')}], stride [${ref.stride.join(', ')}] at offset ${ref.offset} reads ${ref.dtype} elements up to ${end}, but storage '${ref.storage.key}' holds ${Math.floor(storageBytes / es)}`,
    );
  if (!Number.isSafeInteger(numel)) throw new Error(`${where}: shape [${ref.shape.join(', ')}] has too many elements`);
  switch (ref.dtype) {
    case 'complex64':
    case 'complex128':
      throw new Error(`${where}: dtype ${ref.dtype} is not supported (Kiln has no complex tensors)`);
    default:
      break;
  }
  const info: PthTensorInfo = { name, key, dtype: ref.dtype, shape: ref.shape, stride: ref.stride, offset: ref.offset, storage: ref.storage.key };
  return { info, ref, entry, first, end, numel };
}

async function materialize(zip: ZipArchive, p: Plan, opts: LoadPthOptions): Promise<Tensor> {
  const { ref, numel } = p;
  const es = torchItemSize(ref.dtype);
  let bytes: Uint8Array;
  if (numel === 0) bytes = new Uint8Array(0);
  else if (p.entry.method === 0 && (p.first > 0 || p.end * es < p.entry.size)) bytes = await zip.readStoredRange(p.entry, p.first * es, (p.end - p.first) * es);
  else {
    const need = ref.storage.numel * torchItemSize(ref.storage.dtype);
    const maxSize = p.entry.method === 0 ? undefined : need; // checked by planTensor; repeated at the inflate
    bytes = (await zip.read(p.entry, { checkCrc: opts.checkCrc ?? true, ...(maxSize === undefined ? {} : { maxSize }) })).subarray(p.first * es, p.end * es);
  }
  const contiguous = isContiguous(ref.shape, ref.stride);
  const dense = contiguous ? alignedCopy(bytes) : gather(bytes, es, ref.shape, ref.stride);
  return toTensor(dense, ref.dtype, numel, ref.shape, p.info.name, opts);
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/** Typed-array views need element alignment; a fresh read is aligned, a slice of a whole entry may not be. */
function alignedCopy(b: Uint8Array): Uint8Array {
  return b.byteOffset % 8 === 0 ? b : b.slice();
}

/** Copies a strided view (offsets relative to `bytes`) into a dense row-major byte buffer, element by element. */
function gather(bytes: Uint8Array, es: number, shape: readonly number[], stride: readonly number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * es);
  // Elements move as whole words of their size (8-byte ones as two u32 words, so no NaN is canonicalized).
  const wordBytes = Math.min(es, 4);
  const words = es / wordBytes;
  const asWords = (b: Uint8Array): Uint8Array | Uint16Array | Uint32Array =>
    wordBytes === 1 ? b : wordBytes === 2 ? new Uint16Array(b.buffer, b.byteOffset, b.length / 2) : new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
  const src = asWords(alignedCopy(bytes));
  const dst = asWords(out);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    for (let w = 0; w < words; w++) dst[i * words + w] = src[off * words + w]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) {
        off += stride[d]!;
        break;
      }
      off -= (shape[d]! - 1) * stride[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

let halfTable: Float32Array | null = null;

function halfToF32(bits: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = fromHalfBits(i);
  }
  const t = halfTable;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}

function toTensor(b: Uint8Array, dtype: TorchDType, n: number, shape: readonly number[], name: string, opts: LoadPthOptions): Tensor {
  const floatOut = (native: 'f16' | 'f32'): 'f16' | 'f32' => {
    const want = opts.dtype ?? native;
    return want === 'f16' && !gpu(OP).hasF16 && opts.dtype === undefined ? 'f32' : want;
  };
  const buf = b.buffer;
  const o = b.byteOffset;
  switch (dtype) {
    case 'float32':
      return tensor(new Float32Array(buf, o, n), { shape, dtype: floatOut('f32') });
    case 'float16':
      return tensor(halfToF32(new Uint16Array(buf, o, n)), { shape, dtype: floatOut('f16') });
    case 'bfloat16': {
      // bf16 is the top half of an f32: widening is exact.
      const src = new Uint16Array(buf, o, n);
      const wide = new Uint32Array(n);
      for (let i = 0; i < n; i++) wide[i] = src[i]! << 16;
      return tensor(new Float32Array(wide.buffer), { shape, dtype: floatOut('f32') });
    }
    case 'float64':
      return tensor(Float32Array.from(new Float64Array(buf, o, n)), { shape, dtype: floatOut('f32') });
    case 'int64': {
      const w = new Int32Array(buf, o, 2 * n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = w[2 * i]!;
        if (w[2 * i + 1] !== lo >> 31) {
          const v = (BigInt(w[2 * i + 1]!) << 32n) | BigInt(lo >>> 0);
          throw new Error(`${OP}: tensor '${name}' (int64) holds ${v.toString()} at flat index ${i}, outside the i32 range Kiln stores integers in`);
        }
        out[i] = lo;
      }
      return tensor(out, { shape, dtype: 'i32' });
    }
    case 'int32':
      return tensor(new Int32Array(buf, o, n), { shape, dtype: 'i32' });
    case 'int16':
      return tensor(Int32Array.from(new Int16Array(buf, o, n)), { shape, dtype: 'i32' });
    case 'int8':
      return tensor(Int32Array.from(new Int8Array(buf, o, n)), { shape, dtype: 'i32' });
    case 'uint8':
      return tensor(Int32Array.from(new Uint8Array(buf, o, n)), { shape, dtype: 'i32' });
    case 'bool':
      return tensor(new Uint8Array(buf, o, n), { shape, dtype: 'bool' });
    case 'complex64':
    case 'complex128':
      throw new Error(`${OP}: tensor '${name}': dtype ${dtype} is not supported`);
    default:
      return dtype satisfies never;
  }
}
