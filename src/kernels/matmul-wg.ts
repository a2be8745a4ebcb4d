// Launcher for the workgroup-memory tiled matmul (wgsl/matmul_wg.wgsl), the GPU-class matmul: its
// configurations, which adapters can run them (workgroup storage and invocation limits), and the dispatch.
// Chosen through matmul.ts's choice site like every other matmul kernel; not the register-blocked kernels.

import { dispatch, grid } from '../device/batch.js';
import type { AdapterClass } from './adapter-class.js';
import { byteSize, wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

export const matmulWgSource = wgslFile('matmul_wg', new URL('./wgsl/matmul_wg.wgsl', import.meta.url));

/**
 * BM×BN outputs per workgroup, BK per step along k, TM×TN per invocation; `wg` is the invocation count
 * (BM/TM)·(BN/TN), kept so that every matmul configuration names its workgroup size the same way.
 */
export interface WgMatmulConfig {
  readonly kernel: 'wg';
  readonly wg: number;
  readonly bm: number;
  readonly bn: number;
  readonly bk: number;
  readonly tm: number;
  readonly tn: number;
}

const wgConfig = (bm: number, bn: number, bk: number, tm: number, tn: number): WgMatmulConfig => ({ kernel: 'wg', wg: (bm / tm) * (bn / tn), bm, bn, bk, tm, tn });

/**
 * The candidates: 64×64 in 16 KiB (the WebGPU default workgroup storage) first, a small tile for small
 * problems, and the large 8×8-per-invocation tiles that need more workgroup storage (24 and 32 KiB f32).
 */
export const wgMatmulCandidates: readonly WgMatmulConfig[] = [
  wgConfig(64, 64, 16, 4, 4),
  wgConfig(32, 32, 16, 4, 4),
  wgConfig(128, 64, 16, 8, 4),
  wgConfig(128, 128, 16, 8, 8),
];

/** Workgroup storage of `c`'s double-buffered tiles for a storage type of `bytes` per element. */
export function wgMatmulStorage(c: WgMatmulConfig, bytes = 4): number {
  return 2 * c.bk * (c.bm + c.bn) * bytes;
}

/** Well-formed: multiples of 4, whole tiles per invocation, every invocation loading whole vec4 chunks. */
export function wgMatmulWellFormed(c: WgMatmulConfig): boolean {
  const pos = [c.bm, c.bn, c.bk, c.tm, c.tn].every((v) => Number.isInteger(v) && v > 0 && v % 4 === 0);
  return pos && c.bm % c.tm === 0 && c.bn % c.tn === 0 && c.wg === (c.bm / c.tm) * (c.bn / c.tn) &&
    ((c.bm * c.bk) / 4) % c.wg === 0 && ((c.bn * c.bk) / 4) % c.wg === 0 && c.tm * c.tn <= 64;
}

/** Whether `cls` can run `c` for f32 operands (f16 needs half the storage). */
export function wgMatmulUsable(c: WgMatmulConfig, cls: AdapterClass): boolean {
  return wgMatmulWellFormed(c) && c.wg <= cls.invocations && wgMatmulStorage(c) <= cls.workgroupStorage;
}

/** The problem's dimensions and merged batch axes (computed by matmul.ts). */
export interface WgMatmulDims {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly batch: number;
  readonly bshape: readonly number[];
  readonly abs: readonly number[];
  readonly bbs: readonly number[];
}

/** 1: vec4 along k; 2: vec4 along the other axis; 0: scalar loads through any strides. */
function loadMode(o: Operand, kStride: number, otherStride: number, kLen: number, otherLen: number, batchStrides: readonly number[]): number {
  const aligned = o.offset % 4 === 0 && batchStrides.every((s) => s % 4 === 0);
  if (aligned && kStride === 1 && kLen % 4 === 0 && otherStride % 4 === 0) return 1;
  if (aligned && otherStride === 1 && otherLen % 4 === 0 && kStride % 4 === 0) return 2;
  return 0;
}

/** Records out = a @ b ([batch, M, N] contiguous from offset 0) with configuration `c`. */
export function runMatmulWg(p: { readonly out: Operand; readonly a: Operand; readonly b: Operand }, c: WgMatmulConfig, s: WgMatmulDims): void {
  if (!wgMatmulWellFormed(c)) throw new Error(`matmul: malformed workgroup-tile configuration ${JSON.stringify(c)}`);
  const r = p.a.shape.length;
  const [ars, acs, brs, bcs] = [p.a.strides[r - 2]!, p.a.strides[r - 1]!, p.b.strides[r - 2]!, p.b.strides[r - 1]!];
  const tilesN = Math.ceil(s.N / c.bn);
  const tilesM = Math.ceil(s.M / c.bm);
  const [gx, gy, gz] = grid(tilesN * tilesM * s.batch);
  const u = new UniformWriter()
    .u32(s.M, s.N, s.K, s.bshape.length, p.a.offset, ars, acs, tilesN)
    .u32(p.b.offset, brs, bcs, tilesM, gx, s.batch, loadMode(p.a, acs, ars, s.K, s.M, s.abs), loadMode(p.b, brs, bcs, s.K, s.N, s.bbs))
    .vecU32(s.bshape, 4).vecU32(s.abs, 4).vecU32(s.bbs, 4);
  const T = wgslStorageType(p.a.dtype);
  const aliases = {
    T,
    O: wgslStorageType(p.out.dtype),
    Acc: `array<vec4<f32>, ${(c.tm * c.tn) / 4}>`,
    BRow: `array<vec4<f32>, ${c.tn / 4}>`,
    StA: `array<vec4<${T}>, ${(c.bm * c.bk) / 4 / c.wg}>`,
    StB: `array<vec4<${T}>, ${(c.bn * c.bk) / 4 / c.wg}>`,
  };
  const f16 = p.a.dtype === 'f16' || p.out.dtype === 'f16';
  dispatch({
    kernel: {
      name: 'matmul:wg',
      code: prelude(aliases, f16) + matmulWgSource.text(),
      bindings: ['write', 'read', 'read', 'read', 'read', 'uniform'],
      overrides: { BM: c.bm, BN: c.bn, BK: c.bk, TM: c.tm, TN: c.tn, THREADS: c.wg },
    },
    buffers: [whole(p.out), whole(p.a), whole(p.a), whole(p.b), whole(p.b)],
    uniforms: u.bytes(),
    workgroups: [gx, gy, gz],
    work: { op: 'matmul', shapes: [[s.batch, s.M, s.K], [s.batch, s.K, s.N]], flops: 2 * s.batch * s.M * s.N * s.K, bytes: byteSize(p.a.dtype) * s.batch * (s.M * s.K + s.K * s.N) },
  });
}
