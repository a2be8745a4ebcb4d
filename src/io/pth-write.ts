// Writing PyTorch checkpoints that `torch.load(f, weights_only=True)` accepts: torch's ZIP layout (records
// under `archive/`, stored uncompressed, data aligned to 64 bytes, ZIP64 past 4 GiB) around a protocol-2
// pickle of dicts, lists, tuples, numbers, strings and tensors. Not a general pickler: nothing else is written.

import { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { crc32 } from './zip.js';

/** A Python tuple (a plain array is written as a list). */
export class PthTuple {
  constructor(readonly items: readonly PthValue[]) {}
}

/** A `collections.OrderedDict` (a Map or a plain object is written as a dict). */
export class PthOrderedDict {
  constructor(readonly map: ReadonlyMap<string | number, PthValue>) {}
}

/** A number written as a Python float even when it is integral (a plain integral number is an int). */
export class PthFloat {
  constructor(readonly value: number) {}
}

/** What encodePth/savePth write: the Python value each stands for is in its comment. */
export type PthValue =
  | null // None
  | boolean
  | number // int when integral, else float
  | bigint // int
  | string
  | PthFloat
  | Tensor
  | PthTuple
  | PthOrderedDict
  | readonly PthValue[] // list
  | ReadonlyMap<string | number, PthValue> // dict
  | { readonly [key: string]: PthValue }; // dict

export interface SavePthOptions {
  /** Write ZIP64 records even for a small archive (tests; past 4 GiB they are written anyway). */
  readonly zip64?: boolean;
}

const OP = 'savePth';
const ALIGN = 64;
const U32_MAX = 0xffffffff;
const enc = new TextEncoder();

/** torch's legacy storage class of each Kiln dtype (u32 has none in torch). */
function storageClass(t: Tensor): { name: string; itemSize: number } {
  switch (t.dtype) {
    case 'f32':
      return { name: 'FloatStorage', itemSize: 4 };
    case 'f16':
      return { name: 'HalfStorage', itemSize: 2 };
    case 'i32':
      return { name: 'IntStorage', itemSize: 4 };
    case 'bool':
      return { name: 'BoolStorage', itemSize: 1 };
    case 'u32':
      throw new Error(`${OP}: torch has no uint32 tensors; cast the u32 tensor [${t.shape.join(',')}] to i32 first`);
    default:
      return t.dtype satisfies never;
  }
}

// ---- pickle (protocol 2) ---------------------------------------------------------------------------------

class PickleWriter {
  private readonly parts: number[] = [];
  byte(...b: number[]): void {
    for (const x of b) this.parts.push(x);
  }
  u32(n: number): void {
    this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  global(module: string, name: string): void {
    this.byte(0x63); // GLOBAL
    for (const b of enc.encode(`${module}\n${name}\n`)) this.byte(b);
  }
  str(s: string): void {
    const b = enc.encode(s);
    this.byte(0x58); // BINUNICODE
    this.u32(b.length);
    for (const x of b) this.byte(x);
  }
  int(n: bigint): void {
    if (n >= 0n && n < 256n) this.byte(0x4b, Number(n)); // BININT1
    else if (n >= 0n && n < 65536n) this.byte(0x4d, Number(n & 0xffn), Number(n >> 8n)); // BININT2
    else if (n >= -(2n ** 31n) && n < 2n ** 31n) {
      this.byte(0x4a); // BININT
      this.u32(Number(BigInt.asUintN(32, n)));
    } else {
      const bytes: number[] = []; // LONG1: little-endian two's complement, shortest that keeps the sign
      let v = n;
      for (;;) {
        bytes.push(Number(v & 0xffn));
        v >>= 8n;
        const sign = (bytes.at(-1)! & 0x80) !== 0;
        if ((v === 0n && !sign) || (v === -1n && sign)) break;
      }
      this.byte(0x8a, bytes.length, ...bytes);
    }
  }
  float(x: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false); // BINFLOAT is big-endian
    this.byte(0x47, ...b);
  }
  /** MARK … TUPLE, or the short forms. */
  tuple(n: number, items: () => void): void {
    if (n === 0) return this.byte(0x29); // EMPTY_TUPLE
    if (n > 3) this.byte(0x28); // MARK
    items();
    this.byte(n > 3 ? 0x74 : [0x85, 0x86, 0x87][n - 1]!); // TUPLE / TUPLE1-3
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One storage record: the tensors (views) that share it and the element range they read. */
interface StorageRecord {
  readonly key: string;
  readonly base: Tensor;
  first: number;
  end: number;
}

/** Pickles `value` into data.pkl; tensors are gathered into storages, one per Kiln storage. */
class Encoder {
  readonly w = new PickleWriter();
  readonly storages = new Map<Tensor['storage'], StorageRecord>();

  private isTensor(v: unknown): v is Tensor {
    return v instanceof Tensor;
  }

  /** First pass: every tensor's storage and the range of it the tensors read. */
  collect(v: PthValue, path: string, depth = 0): void {
    if (depth > 200) throw new Error(`${OP}: ${path}: nested deeper than 200 levels`);
    if (this.isTensor(v)) {
      v.check(OP);
      storageClass(v);
      const span = v.shape.reduce((s, d, i) => (d === 0 ? -Infinity : s + (d - 1) * v.strides[i]!), 0);
      if (v.strides.some((s) => s < 0)) throw new Error(`${OP}: ${path}: negative strides cannot be saved`);
      const rec = this.storages.get(v.storage);
      const first = v.offset;
      const end = span === -Infinity ? v.offset : v.offset + span + 1;
      if (!rec) this.storages.set(v.storage, { key: String(this.storages.size), base: v, first, end });
      else if (rec.base.dtype !== v.dtype) throw new Error(`${OP}: ${path}: views of one storage with two dtypes (${rec.base.dtype}, ${v.dtype})`);
      else if (end > first) {
        if (rec.end <= rec.first) [rec.first, rec.end] = [first, end];
        else [rec.first, rec.end] = [Math.min(rec.first, first), Math.max(rec.end, end)];
      }
      return;
    }
    for (const [k, x] of children(v)) this.collect(x, `${path}${k}`, depth + 1);
  }

  value(v: PthValue, path: string): void {
    const w = this.w;
    if (v === null) return w.byte(0x4e); // NONE
    if (typeof v === 'boolean') return w.byte(v ? 0x88 : 0x89);
    if (typeof v === 'bigint') return w.int(v);
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) return w.int(BigInt(v));
      return w.float(v);
    }
    if (typeof v === 'string') return w.str(v);
    if (v instanceof PthFloat) return w.float(v.value);
    if (this.isTensor(v)) return this.tensor(v);
    if (v instanceof PthTuple) return w.tuple(v.items.length, () => v.items.forEach((x, i) => this.value(x, `${path}[${i}]`)));
    if (Array.isArray(v)) {
      w.byte(0x5d); // EMPTY_LIST
      this.batched(v.map((x, i) => () => this.value(x as PthValue, `${path}[${i}]`)), 0x65); // APPENDS
      return;
    }
    if (v instanceof PthOrderedDict) {
      w.global('collections', 'OrderedDict');
      w.byte(0x29, 0x52); // EMPTY_TUPLE, REDUCE
      return this.items(v.map, path);
    }
    w.byte(0x7d); // EMPTY_DICT
    this.items(v instanceof Map ? (v as ReadonlyMap<string | number, PthValue>) : new Map(Object.entries(v as Record<string, PthValue>)), path);
  }

  private items(m: ReadonlyMap<string | number, PthValue>, path: string): void {
    this.batched(
      [...m].map(([k, x]) => () => {
        this.value(k, path);
        this.value(x, `${path}.${k}`);
      }),
      0x75, // SETITEMS
    );
  }

  /** MARK … APPENDS/SETITEMS in batches of 1000, as pickle does. */
  private batched(fns: readonly (() => void)[], op: number): void {
    for (let i = 0; i < fns.length; i += 1000) {
      this.w.byte(0x28);
      for (const f of fns.slice(i, i + 1000)) f();
      this.w.byte(op);
    }
  }

  /** _rebuild_tensor_v2(('storage', torch.<T>Storage, key, 'cpu', numel), offset, size, stride, False, OrderedDict()). */
  private tensor(t: Tensor): void {
    const w = this.w;
    const rec = this.storages.get(t.storage)!;
    const cls = storageClass(t);
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.tuple(6, () => {
      w.tuple(5, () => {
        w.str('storage');
        w.global('torch', cls.name);
        w.str(rec.key);
        w.str('cpu');
        w.int(BigInt(Math.max(0, rec.end - rec.first)));
      });
      w.byte(0x51); // BINPERSID
      w.int(BigInt(rec.end > rec.first ? t.offset - rec.first : 0));
      w.tuple(t.shape.length, () => t.shape.forEach((d) => w.int(BigInt(d))));
      w.tuple(t.strides.length, () => t.strides.forEach((d) => w.int(BigInt(d))));
      w.byte(0x89); // False: requires_grad
      w.global('collections', 'OrderedDict');
      w.byte(0x29, 0x52);
    });
    w.byte(0x52); // REDUCE
  }
}

function children(v: PthValue): [string, PthValue][] {
  if (v instanceof PthTuple) return v.items.map((x, i) => [`[${i}]`, x]);
  if (Array.isArray(v)) return (v as readonly PthValue[]).map((x, i) => [`[${i}]`, x]);
  if (v instanceof PthOrderedDict) return [...v.map].map(([k, x]) => [`.${k}`, x]);
  if (v instanceof Map) return [...(v as ReadonlyMap<string | number, PthValue>)].map(([k, x]) => [`.${k}`, x]);
  if (v !== null && typeof v === 'object' && !(v instanceof PthFloat)) return Object.entries(v as Record<string, PthValue>).map(([k, x]) => [`.${k}`, x]);
  return [];
}

/** The bytes of `[first, end)` of a storage, as torch lays them out (bool as one byte each). */
async function storageBytes(rec: StorageRecord): Promise<Uint8Array> {
  const n = rec.end - rec.first;
  if (n <= 0) return new Uint8Array(0);
  const view = rec.base.withLayout([n], [1], rec.first, true);
  try {
    const raw = await view.rawData();
    if (rec.base.dtype === 'bool') return Uint8Array.from(raw as ArrayLike<number>, (x) => (x ? 1 : 0));
    return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  } finally {
    view.dispose();
  }
}

// ---- the ZIP container ------------------------------------------------------------------------------------

interface Record_ {
  readonly name: string;
  readonly data: Uint8Array;
}

/** torch's PyTorchStreamWriter layout: stored records, each one's data at a 64-byte boundary. */
export function zipRecords(records: readonly Record_[], opts: SavePthOptions = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let pos = 0;
  for (const r of records) {
    const name = enc.encode(r.name);
    const crc = crc32(r.data);
    const big = opts.zip64 === true || r.data.length >= U32_MAX || pos >= U32_MAX;
    const z64Local = big ? 20 : 0;
    const base = pos + 30 + name.length + z64Local;
    let pad = (ALIGN - (base % ALIGN)) % ALIGN;
    if (pad > 0 && pad < 4) pad += ALIGN; // the padding is an extra field: 4 header bytes at least
    const local = new Uint8Array(30 + name.length + z64Local + pad);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, big ? 45 : 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, big ? U32_MAX : r.data.length, true);
    lv.setUint32(22, big ? U32_MAX : r.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, z64Local + pad, true);
    local.set(name, 30);
    let at = 30 + name.length;
    if (big) {
      lv.setUint16(at, 1, true);
      lv.setUint16(at + 2, 16, true);
      lv.setBigUint64(at + 4, BigInt(r.data.length), true);
      lv.setBigUint64(at + 12, BigInt(r.data.length), true);
      at += 20;
    }
    if (pad > 0) {
      lv.setUint16(at, 0x4246, true); // 'FB', torch's padding field
      lv.setUint16(at + 2, pad - 4, true);
      local.fill(0x5a, at + 4, at + pad); // 'Z'
    }
    const cz = big ? 28 : 0;
    const c = new Uint8Array(46 + name.length + cz);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, big ? 45 : 20, true);
    cv.setUint16(6, big ? 45 : 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, big ? U32_MAX : r.data.length, true);
    cv.setUint32(24, big ? U32_MAX : r.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cz, true);
    cv.setUint32(42, big ? U32_MAX : pos, true);
    c.set(name, 46);
    if (big) {
      const e = 46 + name.length;
      cv.setUint16(e, 1, true);
      cv.setUint16(e + 2, 24, true);
      cv.setBigUint64(e + 4, BigInt(r.data.length), true);
      cv.setBigUint64(e + 12, BigInt(r.data.length), true);
      cv.setBigUint64(e + 20, BigInt(pos), true);
    }
    central.push(c);
    out.push(local, r.data);
    pos += local.length + r.data.length;
  }
  const cdStart = pos;
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  out.push(...central);
  pos += cdSize;
  const big = opts.zip64 === true || cdStart >= U32_MAX || records.length >= 0xffff;
  if (big) {
    const z = new Uint8Array(56 + 20);
    const zv = new DataView(z.buffer);
    zv.setUint32(0, 0x06064b50, true);
    zv.setBigUint64(4, 44n, true);
    zv.setUint16(12, 45, true);
    zv.setUint16(14, 45, true);
    zv.setBigUint64(24, BigInt(records.length), true);
    zv.setBigUint64(32, BigInt(records.length), true);
    zv.setBigUint64(40, BigInt(cdSize), true);
    zv.setBigUint64(48, BigInt(cdStart), true);
    zv.setUint32(56, 0x07064b50, true); // locator
    zv.setBigUint64(64, BigInt(pos), true);
    zv.setUint32(72, 1, true);
    out.push(z);
  }
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, big ? 0xffff : records.length, true);
  ev.setUint16(10, big ? 0xffff : records.length, true);
  ev.setUint32(12, big ? U32_MAX : cdSize, true);
  ev.setUint32(16, big ? U32_MAX : cdStart, true);
  out.push(eocd);
  return out;
}

/**
 * The bytes of `torch.save(value, f)` (protocol 2, torch's zip format, version 3, little-endian) as
 * chunks; tensors are read back from the GPU, and views of one Kiln storage share one torch storage.
 * @example const chunks = await kiln.io.encodePth({ state_dict: new kiln.io.PthOrderedDict(model.stateDict()) });
 */
export async function encodePth(value: PthValue, opts: SavePthOptions = {}): Promise<Uint8Array[]> {
  const e = new Encoder();
  e.collect(value, '(root)');
  e.w.byte(0x80, 2); // PROTO 2
  e.value(value, '(root)');
  e.w.byte(0x2e); // STOP
  const records: Record_[] = [{ name: 'archive/data.pkl', data: e.w.bytes() }, { name: 'archive/byteorder', data: enc.encode('little') }];
  for (const rec of e.storages.values()) records.push({ name: `archive/data/${rec.key}`, data: await storageBytes(rec) });
  records.push({ name: 'archive/version', data: enc.encode('3\n') });
  return zipRecords(records, opts);
}

/**
 * Writes `value` as `torch.save` would (see encodePth), atomically: `torch.load(path, weights_only=True)`
 * reads it back.
 * @example await kiln.io.savePth('model.pt', new kiln.io.PthOrderedDict(model.stateDict()));
 */
export async function savePth(path: string, value: PthValue, opts: SavePthOptions = {}): Promise<void> {
  await writeFileAtomic(path, await encodePth(value, opts), OP);
}
