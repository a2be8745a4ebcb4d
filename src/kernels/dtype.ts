// Data types: storage sizes, WGSL names, and PyTorch's promotion rules. Kernels and tensors both use them.

export type DType = 'f32' | 'f16' | 'i32' | 'u32' | 'bool';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'i32', 'u32', 'bool'];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function byteSize(d: DType): number {
  switch (d) {
    case 'f16':
      return 2;
    case 'f32':
    case 'i32':
    case 'u32':
    case 'bool':
      return 4;
    default:
      return d satisfies never;
  }
}

/** The WGSL scalar type a dtype is stored as (bool is stored as u32). */
export function wgslStorageType(d: DType): 'f32' | 'f16' | 'i32' | 'u32' {
  switch (d) {
    case 'f32':
    case 'f16':
    case 'i32':
    case 'u32':
      return d;
    case 'bool':
      return 'u32';
    default:
      return d satisfies never;
  }
}

/** The WGSL type arithmetic is done in: f16 computes in f32 (PyTorch's "opmath"), bool as u32. */
export function computeType(d: DType): 'f32' | 'i32' | 'u32' {
  switch (d) {
    case 'f32':
    case 'f16':
      return 'f32';
    case 'i32':
      return 'i32';
    case 'u32':
    case 'bool':
      return 'u32';
    default:
      return d satisfies never;
  }
}

export function isFloat(d: DType): boolean {
  return d === 'f32' || d === 'f16';
}

const rank: Record<DType, number> = { bool: 0, u32: 1, i32: 2, f16: 3, f32: 4 };

/** Promotion of two tensor dtypes, as in PyTorch (i32 + f32 → f32, f16 + f32 → f32, bool + i32 → i32). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  // u32 with i32 has no exact common type; PyTorch would go to i64. We pick i32 and say so in docs.
  return rank[a] >= rank[b] ? a : b;
}

/** The dtype of `tensor op number`: a JS number is a weak scalar that adopts the tensor's dtype, except
 *  that a non-integer number with an integer or bool tensor promotes to f32 (PyTorch's category rule). */
export function promoteWithScalar(d: DType, scalar: number): DType {
  if (isFloat(d)) return d;
  if (!Number.isInteger(scalar)) return 'f32';
  return d === 'bool' ? 'i32' : d;
}

/** A typed array of the CPU representation used by `data()`. */
export type HostArray = Float32Array | Int32Array | Uint32Array;
/** What `data()` of a dtype-D tensor returns (a union when D is). */
export type DataArray<D extends DType> = D extends 'f32' | 'f16' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;
/** What `rawData()` returns: f16's binary16 bits, else as data(). */
export type RawArray<D extends DType> = D extends 'f16' ? Uint16Array : DataArray<D>;


/** A typed-array view of `n` values of a 4-byte dtype stored in `bytes` (no copy). */
export function hostArrayView(d: DType, bytes: ArrayBuffer, n: number): HostArray {
  switch (d) {
    case 'f32':
      return new Float32Array(bytes, 0, n);
    case 'i32':
      return new Int32Array(bytes, 0, n);
    case 'u32':
    case 'bool':
      return new Uint32Array(bytes, 0, n);
    case 'f16':
      throw new Error('kiln: f16 values are converted, not viewed');
    default:
      return d satisfies never;
  }
}
