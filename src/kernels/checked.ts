// Checked mode for index-taking ops (kiln.setDebug(true)): before the op's own kernel, a scan of its
// indices raises a per-op flag on the GPU; the next readback (data(), item(), flush()) reads the flags and
// throws naming the op. Off by default: kernels then clamp out-of-range indices without a readback.

import { dispatch, grid, readBuffer, setReadbackCheck, upload } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { indexType, MAX_INDEX_RANK } from './index-gather.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('check_index', new URL('./wgsl/check_index.wgsl', import.meta.url));
const WG = 256;

/** The ops that can be checked, each with its own flag slot. */
export const CHECKED_OPS = ['indexSelect', 'gather', 'scatterAdd', 'crossEntropy'] as const;
export type CheckedOp = (typeof CHECKED_OPS)[number];

let debug = false;
let flags: { buffer: GPUBuffer; generation: number } | null = null;
/** Ops checked since the last readback of the flags, so a readback without checks costs nothing. */
const pending = new Set<CheckedOp>();

/** Turns checked mode on or off; returns the previous setting. */
export function setDebug(on: boolean): boolean {
  const prev = debug;
  debug = on;
  return prev;
}

export function isDebug(): boolean {
  return debug;
}

function flagBuffer(): GPUBuffer {
  const ctx = gpu('setDebug');
  if (flags === null || flags.generation !== ctx.generation) {
    const buffer = ctx.device.createBuffer({
      label: 'kiln checked-mode flags',
      size: CHECKED_OPS.length * 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    upload(buffer, 0, new Uint32Array(CHECKED_OPS.length * 4));
    flags = { buffer, generation: ctx.generation };
    pending.clear();
  }
  return flags.buffer;
}

/**
 * In checked mode, records a scan of `index` for values outside [0, size) (except `ignore`), blamed on
 * `op`. Does nothing otherwise.
 */
export function checkIndices(op: CheckedOp, index: Operand, size: number, ignore?: number): void {
  if (!debug) return;
  const n = index.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  if (index.shape.length > MAX_INDEX_RANK) return; // the op itself refuses such ranks
  const code = prelude({ I: indexType(index) }, false) + source.text();
  const u = new UniformWriter()
    .u32(n, index.shape.length, index.offset, size, CHECKED_OPS.indexOf(op), ignore === undefined ? 0 : 1)
    .i32(ignore ?? 0)
    .u32(0)
    .vecU32(index.shape, MAX_INDEX_RANK)
    .vecU32(index.strides, MAX_INDEX_RANK);
  const buffer = flagBuffer();
  dispatch({
    kernel: { name: 'check_index', code, bindings: ['write', 'read', 'uniform'] },
    buffers: [{ buffer, offset: 0, size: buffer.size }, whole(index)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n / WG)),
  });
  pending.add(op);
}

/** Reads the flags raised since the last check, clears them, and throws for the first raised op. */
async function readFlags(): Promise<void> {
  if (pending.size === 0 || flags === null || flags.generation !== gpu().generation) return;
  pending.clear(); // before the nested readback, which calls this again
  const buffer = flags.buffer;
  const words = new Uint32Array(await readBuffer(buffer, 0, buffer.size, { debug: true }));
  upload(buffer, 0, new Uint32Array(CHECKED_OPS.length * 4));
  for (const [slot, op] of CHECKED_OPS.entries()) {
    if (words[4 * slot] === 0) continue;
    const bits = words[4 * slot + 1]!;
    const value = bits | 0; // an i32 index as it was stored; a u32 index ≥ 2³¹ reads as its i32 bits
    const size = words[4 * slot + 2]!;
    const what = op === 'crossEntropy' ? `target ${value} is out of bounds for ${size} classes` : `index ${value} is out of range for a dimension of size ${size}`;
    // An embedding lookup is an indexSelect of the weight's rows, so it is reported under that name.
    const via = op === 'indexSelect' ? ' (also F.embedding / nn.Embedding)' : '';
    throw new Error(`${op}${via}: ${what} (found by checked mode, kiln.setDebug(true), at this readback; the op ran before it)`);
  }
}

setReadbackCheck(readFlags);
