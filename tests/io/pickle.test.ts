// The restricted unpickler: opcodes against hand-built pickles and torch.save's own data.pkl, the global
// allow-list (os.system and friends refused by name), and hostile streams (truncation, memo and stack
// floods, self-reference), which must throw or return, never hang or run anything.
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PyDict, PyTuple, StorageRef, TensorRef, TorchGlobal, unpickle, type PickleValue } from '../../src/io/pickle.js';
import { ZipArchive, bytesSource } from '../../src/io/zip.js';
import { fuzz } from '../helpers/fuzz.js';

/** Writes pickle opcodes by hand. */
class Pickle {
  readonly b: number[] = [];
  op(...bytes: number[]): this {
    this.b.push(...bytes);
    return this;
  }
  u32(n: number): this {
    return this.op(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  proto(n = 2): this {
    return this.op(0x80, n);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const e = new TextEncoder().encode(s);
    return this.op(0x58).u32(e.length).op(...e);
  }
  short(s: string): this {
    const e = new TextEncoder().encode(s);
    return this.op(0x8c, e.length, ...e);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    return this.op(0x4a).u32(n >>> 0);
  }
  mark(): this {
    return this.op(0x28);
  }
  stop(): Uint8Array {
    return new Uint8Array([...this.b, 0x2e]);
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.b);
  }
}

const P = (): Pickle => new Pickle().proto();
const run = (b: Uint8Array | Pickle, opts = {}): PickleValue => unpickle(b instanceof Pickle ? b.stop() : b, opts);
const dict = (v: PickleValue): Map<PickleValue, PickleValue> => {
  expect(v).toBeInstanceOf(PyDict);
  return (v as PyDict).map;
};

describe('pickle: values', () => {
  it('builds dicts, lists, tuples, numbers, strings and constants', () => {
    const p = P()
      .op(0x7d) // {}
      .mark()
      .str('i')
      .int(7)
      .short('neg')
      .int(-5)
      .str('big')
      .op(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0x80, 0) // LONG1 2^63
      .str('negl')
      .op(0x8a, 2, 0x00, 0xff) // LONG1 -256
      .str('f')
      .op(0x47, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18) // BINFLOAT pi
      .str('t')
      .op(0x88)
      .str('n')
      .op(0x4e)
      .str('tup')
      .int(1)
      .int(2)
      .op(0x86) // TUPLE2
      .str('list')
      .op(0x5d)
      .int(1)
      .op(0x61) // APPEND
      .mark()
      .int(2)
      .int(3)
      .op(0x65) // APPENDS
      .str('u8')
      .op(0x8d, 2, 0, 0, 0, 0, 0, 0, 0, 0xc3, 0xa9) // BINUNICODE8 'é'
      .str('bytes')
      .op(0x43, 2, 1, 2) // SHORT_BINBYTES
      .op(0x75); // SETITEMS
    const m = dict(run(p));
    expect([...m.keys()]).toEqual(['i', 'neg', 'big', 'negl', 'f', 't', 'n', 'tup', 'list', 'u8', 'bytes']);
    expect(m.get('i')).toBe(7);
    expect(m.get('neg')).toBe(-5);
    expect(m.get('big')).toBe(2n ** 63n);
    expect(m.get('negl')).toBe(-256);
    expect(m.get('f')).toBe(Math.PI);
    expect(m.get('t')).toBe(true);
    expect(m.get('n')).toBeNull();
    expect((m.get('tup') as PyTuple).items).toEqual([1, 2]);
    expect(m.get('list')).toEqual([1, 2, 3]);
    expect(m.get('u8')).toBe('é');
    expect(m.get('bytes')).toEqual(new Uint8Array([1, 2]));
  });

  it('memoizes with BINPUT/BINGET, LONG_BINPUT/LONG_BINGET and MEMOIZE; frames are transparent', () => {
    const p = new Pickle().proto(4).op(0x95, 0, 0, 0, 0, 0, 0, 0, 0);
    p.short('x').op(0x94).op(0x72).u32(70000).op(0x68, 0).op(0x6a).u32(70000).op(0x87); // ('x', 'x', 'x')
    expect((run(p) as PyTuple).items).toEqual(['x', 'x', 'x']);
  });

  it('allows OrderedDict and keeps what BUILD sets on it', () => {
    const p = P().global('collections', 'OrderedDict').op(0x29, 0x52).str('k').int(1).op(0x73).op(0x7d).str('_metadata').op(0x4e, 0x73, 0x62);
    const v = run(p) as PyDict;
    expect([...v.map]).toEqual([['k', 1]]);
    expect(dict(v.state).get('_metadata')).toBeNull();
  });

  it('rebuilds a tensor reference from _rebuild_tensor_v2 and a storage persistent id, sharing storages by key', () => {
    const tensor = (p: Pickle, key: string, offset: number): Pickle =>
      p.global('torch._utils', '_rebuild_tensor_v2').mark().mark().str('storage').global('torch', 'HalfStorage').str(key).str('cpu').int(12).op(0x74, 0x51).int(offset).int(2).int(3).op(0x86).int(3).int(1).op(0x86).op(0x89).op(0x7d).op(0x74, 0x52);
    const p = P().op(0x5d).mark();
    tensor(p, '0', 0);
    tensor(p, '0', 6);
    const [a, b] = run(p.op(0x65)) as TensorRef[];
    expect(a).toBeInstanceOf(TensorRef);
    expect(a!.storage).toBeInstanceOf(StorageRef);
    expect(a!.storage).toBe(b!.storage);
    expect([a!.dtype, a!.shape, a!.stride, a!.offset, b!.offset]).toEqual(['float16', [2, 3], [3, 1], 0, 6]);
    expect(a!.storage.numel).toBe(12);
  });

  it('reads the data.pkl torch.save wrote (protocols 2 and 4)', async () => {
    for (const f of ['module.pth', 'proto4.pth']) {
      const z = await ZipArchive.open(bytesSource(readFileSync(join(import.meta.dirname, '../fixtures/io', f))));
      const pkl = z.entries.find((e) => e.name.endsWith('/data.pkl'))!;
      const m = dict(unpickle(await z.read(pkl)));
      expect([...m.keys()].slice(0, 3)).toEqual(['0.weight', '0.bias', '1.weight']);
      const w = m.get('0.weight') as TensorRef;
      expect([w.dtype, w.shape, w.stride]).toEqual(['float32', [4, 3], [3, 1]]);
      expect((m.get('1.num_batches_tracked') as TensorRef).dtype).toBe('int64');
    }
  });
});

describe('pickle: refused', () => {
  it('refuses any global outside the allow-list, naming it, before anything is called', () => {
    const evil = P().global('os', 'system').str('echo pwned').op(0x85, 0x52);
    expect(() => run(evil)).toThrow("pickle: global 'os.system' is not allowed in a state dict (at byte 2)");
    expect(() => run(new Pickle().proto(4).short('builtins').short('eval').op(0x93))).toThrow("pickle: global 'builtins.eval' is not allowed in a state dict");
    for (const [m, n] of [
      ['torch', 'load'],
      ['torch._utils', '_rebuild_qtensor'],
      ['__builtin__', 'getattr'],
      ['collections', 'defaultdict'],
      ['torch.serialization', '_get_layout'],
      ['numpy.core.multiarray', '_reconstruct'],
    ]) {
      expect(() => run(P().global(m!, n!))).toThrow(`pickle: global '${m}.${n}' is not allowed in a state dict`);
    }
  });

  it('refuses calls of anything but an allowed constructor, and bad constructor arguments', () => {
    expect(() => run(P().str('x').op(0x29, 0x52))).toThrow('REDUCE calls a str');
    expect(() => run(P().global('torch', 'FloatStorage').op(0x29, 0x52))).toThrow("'torch.FloatStorage' cannot be called");
    expect(() => run(P().global('collections', 'OrderedDict').int(1).op(0x52))).toThrow('REDUCE with int arguments');
    const v2 = (size: number[], stride: number[]): Pickle => {
      const p = P().global('torch._utils', '_rebuild_tensor_v2').mark().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(4).op(0x74, 0x51).int(0);
      p.mark();
      for (const s of size) p.int(s);
      p.op(0x74).mark();
      for (const s of stride) p.int(s);
      return p.op(0x74, 0x89, 0x7d, 0x74, 0x52);
    };
    expect(run(v2([2, 2], [2, 1]))).toBeInstanceOf(TensorRef);
    expect(() => run(v2([2, 2], [1]))).toThrow('size has 2 dimensions but stride 1');
    expect(() => run(v2([2, -1], [2, 1]))).toThrow('tensor size holds -1, not a non-negative integer');
    const pid = (key: string, numel: number): Pickle => P().mark().str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(numel).op(0x74, 0x51);
    expect(() => run(pid('../../etc/passwd', 1))).toThrow('storage key "../../etc/passwd" is not a plain name');
    expect(() => run(pid('0', -1))).toThrow("storage '0' has size -1");
    expect(() => run(P().str('x').op(0x51))).toThrow("persistent id is a str, not ('storage', type, key, location, numel)");
    expect(() => run(P().str('x').op(0x7d, 0x62))).toThrow('BUILD on a str');
  });

  it('refuses unknown and unsupported opcodes by name', () => {
    expect(() => run(P().op(0xff))).toThrow('pickle: unknown opcode 0xff (at byte 2)');
    expect(() => run(P().op(0x81))).toThrow('opcode NEWOBJ (0x81) is not used by torch.save state dicts and is not supported');
    expect(() => run(P().op(0x69))).toThrow('opcode INST (0x69)');
    expect(() => run(new Pickle().proto(6))).toThrow('pickle protocol newer than 5');
  });

  it('refuses every truncation of a valid pickle with an Error', () => {
    const good = P().op(0x7d).mark().str('a').int(300).str('b').op(0x5d, 0x4e, 0x61).op(0x75).stop();
    expect(dict(run(good)).get('a')).toBe(300);
    for (let n = 0; n < good.length; n++) expect(() => run(good.subarray(0, n)), `truncated to ${n}`).toThrow(/^pickle: /);
    expect(() => run(P().op(0x58).u32(0xfffffff0).op(1, 2))).toThrow('pickle: truncated: needs 4294967280 more bytes, 3 left');
  });

  it('caps the memo and the stack, and refuses underflow and a bad STOP', () => {
    const memo = P().int(1);
    for (let i = 0; i < 20; i++) memo.op(0x71, i);
    expect(() => run(memo, { maxMemo: 10 })).toThrow('pickle: the memo grew past 10 entries');
    const marks = P();
    for (let i = 0; i < 100; i++) marks.mark();
    expect(() => run(marks, { maxStack: 50 })).toThrow('pickle: the stack grew past 50 entries');
    expect(() => run(P().op(0x32))).toThrow('stack underflow');
    expect(() => run(P().int(1).mark().op(0x30))).toThrow('stack underflow');
    expect(() => run(P().int(1).int(2))).toThrow('STOP with 2 values and 0 marks on the stack');
    expect(() => run(P().op(0x68, 3))).toThrow('memo key 3 is not defined');
    expect(() => run(P().int(1))).not.toThrow();
    expect(() => run(P().bytes())).toThrow('pickle: truncated: no STOP opcode');
  });

  it('returns self-referencing and deeply nested structures without recursing or hanging', () => {
    const self = run(P().op(0x5d, 0x71, 0, 0x68, 0, 0x61)) as PickleValue[];
    expect(self[0]).toBe(self);
    const deep = P().int(1);
    for (let i = 0; i < 200_000; i++) deep.op(0x85);
    let v = run(deep);
    let depth = 0;
    while (v instanceof PyTuple) {
      v = v.items[0]!;
      depth++;
    }
    expect(depth).toBe(200_000);
    // A "billion laughs": each list holds the previous one twice; memo references keep it linear.
    const laughs = P().op(0x5d, 0x71, 0);
    for (let i = 1; i < 60; i++) laughs.op(0x30, 0x5d, 0x68, i - 1, 0x61, 0x68, i - 1, 0x61, 0x71, i);
    expect(Array.isArray(run(laughs))).toBe(true);
  });

  it('keeps TorchGlobal values for dtypes', () => {
    const g = run(P().global('torch', 'bfloat16')) as TorchGlobal;
    expect(g.what).toEqual({ kind: 'dtype', dtype: 'bfloat16' });
  });

  // Each way a pickle can make an unrestricted unpickler import or call something: the classic exploits
  // (os.system through REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, the extension registry, text persistent ids,
  // __setstate__ through BUILD) and the torch-side helpers that load further pickles or arbitrary objects.
  it('refuses every opcode that imports or calls, in its exploit form, and runs nothing', () => {
    const canary = join(tmpdir(), `kiln-pwned-${process.pid}`);
    const cmd = `touch ${canary}`;
    const cases: [string, Pickle, string][] = [
      ['GLOBAL + REDUCE', P().global('os', 'system').str(cmd).op(0x85, 0x52), "global 'os.system' is not allowed"],
      ['STACK_GLOBAL + REDUCE', new Pickle().proto(4).short('posix').short('system').op(0x93).short(cmd).op(0x85, 0x52), "global 'posix.system' is not allowed"],
      ['STACK_GLOBAL from the memo', new Pickle().proto(4).short('builtins').op(0x94).op(0x30).op(0x68, 0).short('exec').op(0x93), "global 'builtins.exec' is not allowed"],
      ['INST', P().mark().str(cmd).op(0x69, ...new TextEncoder().encode('os\nsystem\n')), 'opcode INST (0x69)'],
      ['OBJ', P().mark().global('os', 'system'), "global 'os.system' is not allowed"],
      ['OBJ on an allowed class', P().mark().global('collections', 'OrderedDict').op(0x6f), 'opcode OBJ (0x6f)'],
      ['NEWOBJ', P().global('collections', 'OrderedDict').op(0x29, 0x81), 'opcode NEWOBJ (0x81)'],
      ['NEWOBJ_EX', P().global('collections', 'OrderedDict').op(0x29, 0x7d, 0x92), 'opcode NEWOBJ_EX (0x92)'],
      ['EXT1', P().op(0x82, 1), 'opcode EXT1 (0x82)'],
      ['EXT2', P().op(0x83, 1, 0), 'opcode EXT2 (0x83)'],
      ['EXT4', P().op(0x84).u32(1), 'opcode EXT4 (0x84)'],
      ['PERSID (text)', P().op(0x50, ...new TextEncoder().encode('os.system\n')), 'opcode PERSID (0x50)'],
      ['BINPERSID with a non-storage id', P().mark().str('module').global('os', 'system').op(0x74, 0x51), "global 'os.system' is not allowed"],
      ['BINPERSID naming a callable', P().mark().str('storage').global('torch', 'float32').str('0').str('cpu').int(1).op(0x74, 0x51), 'not a storage type'],
      ['BUILD (__setstate__) on a class', P().global('torch', 'FloatStorage').op(0x7d, 0x62), "BUILD on a 'torch.FloatStorage'"],
      ['BUILD on a list', P().op(0x5d, 0x7d, 0x62), 'BUILD on a list'],
      ['REDUCE on a dtype', P().global('torch', 'float32').op(0x29, 0x52), "'torch.float32' cannot be called"],
      ['REDUCE on a tuple', P().op(0x29, 0x29, 0x52), 'REDUCE calls a tuple'],
      ['builtins.getattr', P().global('builtins', 'getattr'), "global 'builtins.getattr' is not allowed"],
      ['builtins.__import__', P().global('builtins', '__import__'), "global 'builtins.__import__' is not allowed"],
      ['subprocess.Popen', P().global('subprocess', 'Popen'), "global 'subprocess.Popen' is not allowed"],
      ['torch.load', P().global('torch', 'load'), "global 'torch.load' is not allowed"],
      ['torch.storage._load_from_bytes', P().global('torch.storage', '_load_from_bytes'), "global 'torch.storage._load_from_bytes' is not allowed"],
      ['torch._utils._rebuild_device_tensor_from_numpy', P().global('torch._utils', '_rebuild_device_tensor_from_numpy'), 'is not allowed'],
      ['torch._utils._rebuild_sparse_tensor', P().global('torch._utils', '_rebuild_sparse_tensor'), 'is not allowed'],
      ['torch.hub.load', P().global('torch.hub', 'load'), "global 'torch.hub.load' is not allowed"],
      ['numpy reconstruct', P().global('numpy.core.multiarray', '_reconstruct'), 'is not allowed'],
      ['a storage type of another module', P().global('os', 'FloatStorage'), "global 'os.FloatStorage' is not allowed"],
      ['a name with a dot', P().global('torch', 'serialization.load'), "global 'torch.serialization.load' is not allowed"],
      ['FRAME hiding a GLOBAL', new Pickle().proto(4).op(0x95, 20, 0, 0, 0, 0, 0, 0, 0).global('os', 'system'), "global 'os.system' is not allowed"],
      ['BYTEARRAY8', new Pickle().proto(5).op(0x96, 0, 0, 0, 0, 0, 0, 0, 0), 'opcode BYTEARRAY8 (0x96)'],
      ['NEXT_BUFFER', new Pickle().proto(5).op(0x97), 'opcode NEXT_BUFFER (0x97)'],
      ['READONLY_BUFFER', new Pickle().proto(5).op(0x5d, 0x98), 'opcode READONLY_BUFFER (0x98)'],
      ['EMPTY_SET + ADDITEMS', new Pickle().proto(4).op(0x8f), 'opcode EMPTY_SET (0x8f)'],
      ['FROZENSET', new Pickle().proto(4).mark().op(0x91), 'opcode FROZENSET (0x91)'],
    ];
    for (const [label, p, msg] of cases) {
      let err: unknown = null;
      try {
        run(p);
      } catch (e) {
        err = e;
      }
      expect(err, label).toBeInstanceOf(Error);
      expect((err as Error).message, label).toMatch(/^pickle: /);
      expect((err as Error).message, label).toContain(msg);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it('fuzz: mutations of a torch.save data.pkl unpickle or throw a pickle error, within bounds', async () => {
    const z = await ZipArchive.open(bytesSource(new Uint8Array(readFileSync(join(import.meta.dirname, '../fixtures/io/module.pth')))));
    const good = await z.read(z.entries.find((e) => e.name.endsWith('/data.pkl'))!);
    const { cases, refused } = await fuzz(good, (b) => void unpickle(b, { maxMemo: 1 << 16, maxStack: 1 << 16 }), { seed: 2102, budgetMs: 2000, maxCases: 3000, prefix: /^pickle: / });
    expect(cases).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(cases / 4);
  });
});
