// A restricted unpickler for the data.pkl of a torch.save state dict: protocol 2-5 opcodes, and an
// allow-list of the globals a state dict names (OrderedDict, torch's tensor rebuilders, storage types and
// dtypes). It builds plain data and never executes anything; every other global is refused by name.

/** PyTorch's element types, by the name torch prints them with (`torch.float32` → 'float32'). */
export type TorchDType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool'
  | 'complex64'
  | 'complex128';

/** Bytes per element of each torch dtype. */
export function torchItemSize(d: TorchDType): number {
  switch (d) {
    case 'bool':
    case 'int8':
    case 'uint8':
      return 1;
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return 2;
    case 'float32':
    case 'int32':
      return 4;
    case 'float64':
    case 'int64':
    case 'complex64':
      return 8;
    case 'complex128':
      return 16;
    default:
      return d satisfies never;
  }
}

/** A Python tuple (lists are plain arrays). */
export class PyTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A dict or OrderedDict: insertion-ordered, like both in Python 3.7+. */
export class PyDict {
  readonly map = new Map<PickleValue, PickleValue>();
  /** What BUILD set on it (an OrderedDict's `_metadata`, for instance); kept, never interpreted. */
  state: PickleValue = null;
}

type GlobalKind =
  | { readonly kind: 'ordered-dict' }
  | { readonly kind: 'rebuild-tensor-v2' }
  | { readonly kind: 'rebuild-tensor-v3' }
  | { readonly kind: 'rebuild-parameter' }
  | { readonly kind: 'rebuild-parameter-with-state' }
  | { readonly kind: 'storage-type'; readonly dtype: TorchDType }
  | { readonly kind: 'dtype'; readonly dtype: TorchDType };

/** One of the allowed globals, as a value: a constructor the unpickler knows, a storage type or a dtype. */
export class TorchGlobal {
  constructor(
    readonly qualifiedName: string,
    readonly what: GlobalKind,
  ) {}
}

/** A storage named by a persistent id: its bytes are the archive entry `data/<key>`. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    /** Elements of `dtype` (bytes for an untyped storage). */
    readonly numel: number,
    readonly location: string,
  ) {}
}

/** A tensor as torch rebuilds it: a strided view (in elements of `dtype`) of a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly dtype: TorchDType,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PyTuple
  | PyDict
  | TorchGlobal
  | StorageRef
  | TensorRef;

const STORAGE_TYPES: Readonly<Record<string, TorchDType>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
  UntypedStorage: 'uint8',
};

const DTYPE_NAMES: Readonly<Record<string, TorchDType>> = {
  float32: 'float32',
  float: 'float32',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  float64: 'float64',
  double: 'float64',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
  complex64: 'complex64',
  cfloat: 'complex64',
  complex128: 'complex128',
  cdouble: 'complex128',
};

/** The allow-list: the only globals a state dict may name. Everything else is refused, never looked up. */
function allowedGlobal(module: string, name: string): TorchGlobal | null {
  const q = `${module}.${name}`;
  if (q === 'collections.OrderedDict') return new TorchGlobal(q, { kind: 'ordered-dict' });
  if (module === 'torch._utils') {
    if (name === '_rebuild_tensor_v2') return new TorchGlobal(q, { kind: 'rebuild-tensor-v2' });
    if (name === '_rebuild_tensor_v3') return new TorchGlobal(q, { kind: 'rebuild-tensor-v3' });
    if (name === '_rebuild_parameter') return new TorchGlobal(q, { kind: 'rebuild-parameter' });
    if (name === '_rebuild_parameter_with_state') return new TorchGlobal(q, { kind: 'rebuild-parameter-with-state' });
  }
  if (module === 'torch' || module === 'torch.cuda') {
    const s = Object.hasOwn(STORAGE_TYPES, name) ? STORAGE_TYPES[name] : undefined;
    if (s) return new TorchGlobal(q, { kind: 'storage-type', dtype: s });
  }
  if (module === 'torch') {
    const d = Object.hasOwn(DTYPE_NAMES, name) ? DTYPE_NAMES[name] : undefined;
    if (d) return new TorchGlobal(q, { kind: 'dtype', dtype: d });
  }
  return null;
}

export interface UnpickleOptions {
  /** Most memo entries (default 4M): a pickle that memoizes more is refused. */
  readonly maxMemo?: number;
  /** Most values on the stack at once, marks included (default 4M). */
  readonly maxStack?: number;
}

// Opcodes this reader does not implement, so their errors can name them.
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x49: 'INT',
  0x4c: 'LONG',
  0x46: 'FLOAT',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x50: 'PERSID',
  0x70: 'PUT',
  0x67: 'GET',
  0x64: 'DICT',
  0x6c: 'LIST',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const ascii = new TextDecoder('latin1');

/**
 * Unpickles a torch.save data.pkl into plain values: dicts become PyDict (insertion-ordered Map), lists
 * arrays, tuples PyTuple, tensors TensorRef. Throws on any global outside the allow-list, any opcode it
 * does not know, truncation, and memo or stack growth past the caps.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): PickleValue {
  const maxMemo = opts.maxMemo ?? 1 << 22;
  const maxStack = opts.maxStack ?? 1 << 22;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const storages = new Map<string, StorageRef>();
  let pos = 0;
  let opPos = 0;

  const fail = (msg: string): never => {
    throw new Error(`pickle: ${msg} (at byte ${opPos})`);
  };
  const need = (n: number): number => {
    if (pos + n > bytes.length) fail(`truncated: needs ${n} more bytes, ${bytes.length - pos} left`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = (): number => bytes[need(1)]!;
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const p = need(8);
    const hi = view.getUint32(p + 4, true);
    if (hi > 0x1fffff) fail('a 64-bit length is out of range');
    return hi * 2 ** 32 + view.getUint32(p, true);
  };
  const take = (n: number): Uint8Array => {
    const p = need(n);
    return bytes.subarray(p, p + n);
  };
  const str = (n: number): string => {
    const b = take(n);
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: a GLOBAL line has no newline');
    const s = ascii.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const push = (v: PickleValue): void => {
    if (stack.length + marks.length >= maxStack) fail(`the stack grew past ${maxStack} entries`);
    stack.push(v);
  };
  const floor = (): number => (marks.length ? marks[marks.length - 1]! : 0);
  const pop = (): PickleValue => {
    if (stack.length <= floor()) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length <= floor()) fail('stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    if (marks.length === 0) fail('no MARK to pop to');
    return stack.splice(marks.pop()!);
  };
  const put = (i: number): void => {
    if (!memo.has(i) && memo.size >= maxMemo) fail(`the memo grew past ${maxMemo} entries`);
    memo.set(i, top());
  };
  const get = (i: number): void => {
    if (!memo.has(i)) fail(`memo key ${i} is not defined`);
    push(memo.get(i)!);
  };
  const global = (module: string, name: string): void => {
    const g = allowedGlobal(module, name);
    if (!g) fail(`global '${module}.${name}' is not allowed in a state dict`);
    push(g);
  };
  const setItems = (dict: PickleValue, items: PickleValue[]): void => {
    if (!(dict instanceof PyDict)) fail(`SETITEM(S) on a ${describe(dict)}, not a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) (dict as PyDict).map.set(items[i]!, items[i + 1]!);
  };
  const appends = (list: PickleValue, items: PickleValue[]): void => {
    if (!Array.isArray(list)) fail(`APPEND(S) on a ${describe(list)}, not a list`);
    for (const it of items) (list as PickleValue[]).push(it);
  };

  while (pos < bytes.length) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: a length prefix for buffered readers; the data follows inline
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`STOP with ${stack.length} values and ${marks.length} marks on the stack`);
        return stack[0]!;
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x28: // MARK
        if (stack.length + marks.length >= maxStack) fail(`the stack grew past ${maxStack} entries`);
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x58: // BINUNICODE
        push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(str(u64()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()).slice());
        break;
      case 0x4a: // BININT
        push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(take(u8())));
        break;
      case 0x8b: { // LONG4: torch never writes one; anything past 64 bytes is a size attack, not a number
        const n = u32();
        if (n > 64) fail(`LONG4 of ${n} bytes`);
        push(long(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        push(view.getFloat64(need(8), false));
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of values');
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appends(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appends(top(), items);
        break;
      }
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x63: // GLOBAL
        global(line(), line());
        break;
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        global(module as string, name as string);
        break;
      }
      case 0x52: { // REDUCE: only the allow-listed constructors, interpreted here, never called
        const args = pop();
        const fn = pop();
        if (!(fn instanceof TorchGlobal)) fail(`REDUCE calls a ${describe(fn)}`);
        if (!(args instanceof PyTuple)) fail(`REDUCE with ${describe(args)} arguments`);
        try {
          push(reduce(fn as TorchGlobal, (args as PyTuple).items));
        } catch (e) {
          fail((e as Error).message);
        }
        break;
      }
      case 0x62: { // BUILD: state set on an object; only dicts (OrderedDict._metadata) and tensors take one
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.state = state;
        else if (!(obj instanceof TensorRef)) fail(`BUILD on a ${describe(obj)}`);
        break;
      }
      case 0x51: { // BINPERSID: ('storage', storage_type, key, location, numel)
        const pid = pop();
        try {
          push(persistentLoad(pid, storages));
        } catch (e) {
          fail((e as Error).message);
        }
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        fail(name ? `opcode ${name} (0x${op.toString(16)}) is not used by torch.save state dicts and is not supported` : `unknown opcode 0x${op.toString(16)}`);
      }
    }
  }
  return fail('truncated: no STOP opcode');
}

/** Two's-complement little-endian integer; a number when it is exact as one. */
function long(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A short name of a value's Python type, for errors. */
export function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof TorchGlobal) return `'${v.qualifiedName}'`;
  if (v instanceof StorageRef) return 'storage';
  return 'tensor';
}

/** A number, string or bigint as itself, anything else by its type. */
function show(v: PickleValue): string {
  return typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' ? String(v) : describe(v);
}

function persistentLoad(pid: PickleValue, storages: Map<string, StorageRef>): StorageRef {
  const it = pid instanceof PyTuple ? pid.items : [];
  const [tag, type, key, location, numel] = it;
  if (it.length !== 5 || tag !== 'storage') throw new Error(`persistent id is a ${describe(pid)}, not ('storage', type, key, location, numel)`);
  if (!(type instanceof TorchGlobal) || type.what.kind !== 'storage-type') throw new Error(`persistent id names a ${describe(type!)}, not a storage type`);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key) || key === '.' || key === '..') throw new Error(`storage key ${JSON.stringify(key)} is not a plain name`);
  if (typeof location !== 'string') throw new Error('storage location is not a string');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(`storage '${key}' has size ${show(numel ?? null)}`);
  const dtype = type.what.dtype;
  const seen = storages.get(key);
  if (seen) {
    if (seen.dtype !== dtype || seen.numel !== numel) throw new Error(`storage '${key}' is named as ${seen.dtype}[${seen.numel}] and as ${dtype}[${numel}]`);
    return seen;
  }
  const s = new StorageRef(key, dtype, numel, location);
  storages.set(key, s);
  return s;
}

function intList(v: PickleValue | undefined, what: string): number[] {
  if (!(v instanceof PyTuple) && !Array.isArray(v)) throw new Error(`tensor ${what} is a ${describe(v ?? null)}, not a tuple`);
  const items = v instanceof PyTuple ? v.items : v;
  if (items.length > 64) throw new Error(`tensor ${what} has ${items.length} dimensions`);
  return items.map((x) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new Error(`tensor ${what} holds ${show(x)}, not a non-negative integer`);
    return x;
  });
}

function reduce(fn: TorchGlobal, args: readonly PickleValue[]): PickleValue {
  const w = fn.what;
  switch (w.kind) {
    case 'ordered-dict': {
      const d = new PyDict();
      if (args.length === 0) return d;
      const pairs = args[0];
      if (args.length !== 1 || !Array.isArray(pairs)) throw new Error('OrderedDict() takes nothing or a list of pairs');
      for (const p of pairs) {
        const kv = p instanceof PyTuple ? p.items : Array.isArray(p) ? p : [];
        if (kv.length !== 2) throw new Error('OrderedDict() pair is not a (key, value)');
        d.map.set(kv[0]!, kv[1]!);
      }
      return d;
    }
    case 'rebuild-tensor-v2':
    case 'rebuild-tensor-v3': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, dtype (v3)][, metadata])
      const [storage, offset, size, stride, requiresGrad] = args;
      if (args.length < 6) throw new Error(`${fn.qualifiedName} takes at least 6 arguments, got ${args.length}`);
      if (!(storage instanceof StorageRef)) throw new Error(`${fn.qualifiedName}: the storage is a ${describe(storage!)}`);
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new Error(`${fn.qualifiedName}: storage offset ${show(offset ?? null)}`);
      let dtype = storage.dtype;
      if (w.kind === 'rebuild-tensor-v3') {
        const d = args[6];
        if (!(d instanceof TorchGlobal) || d.what.kind !== 'dtype') throw new Error(`${fn.qualifiedName}: argument 7 is a ${describe(d ?? null)}, not a dtype`);
        dtype = d.what.dtype;
      }
      const shape = intList(size, 'size');
      const strides = intList(stride, 'stride');
      if (shape.length !== strides.length) throw new Error(`${fn.qualifiedName}: size has ${shape.length} dimensions but stride ${strides.length}`);
      return new TensorRef(storage, dtype, offset, shape, strides, requiresGrad === true);
    }
    case 'rebuild-parameter':
    case 'rebuild-parameter-with-state': {
      // (data, requires_grad, backward_hooks[, state])
      const [data, requiresGrad] = args;
      if (!(data instanceof TensorRef)) throw new Error(`${fn.qualifiedName}: data is a ${describe(data ?? null)}, not a tensor`);
      return new TensorRef(data.storage, data.dtype, data.offset, data.shape, data.stride, requiresGrad === true);
    }
    case 'storage-type':
    case 'dtype':
      throw new Error(`'${fn.qualifiedName}' cannot be called`);
    default:
      return w satisfies never;
  }
}
