// Training checkpoints on disk, `<out>/checkpoints/step-<N>/`: model, optimizer and trainer safetensors plus
// state.json (step, RNG, data position, kernel choices, each file's SHA-256), written in a temporary
// directory then renamed; reading verifies the digests and refuses corrupt or mismatched checkpoints.

import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RngState, type Tensor, io } from '../public.js';
import type { DataPosition } from './dataset.js';
import { killPoint } from './faults.js';
import type { OptimizerJson } from './optimizer-state.js';

/** A checkpoint that cannot be resumed from: corrupt, truncated, incomplete or from another setup. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export const CHECKPOINT_VERSION = 1;
const FILES = ['model.safetensors', 'optimizer.safetensors', 'trainer.safetensors'] as const;
type FileName = (typeof FILES)[number];

export interface KernelChoices {
  readonly adapter: string;
  readonly tuning: Readonly<Record<string, unknown>>;
  readonly env: Readonly<Record<string, string>>;
  /** Choices forced in code (kiln.forceKernel); absent in checkpoints written before it existed. */
  readonly forced?: Readonly<Record<string, unknown>>;
}

/** Everything in state.json besides the file digests. */
export interface CheckpointState {
  readonly step: number;
  readonly epoch: number;
  readonly data: DataPosition;
  readonly rng: RngState;
  /** Each group's base learning rate and the schedule (for the record: the lr is recomputed from the step). */
  readonly lrs: Readonly<Record<string, number>>;
  readonly schedule: unknown;
  readonly architecture: unknown;
  readonly kernels: KernelChoices;
  /** AdamW's param_groups (torch's layout) and the parameter name of each state index. */
  readonly optimizer: OptimizerJson;
  /** The trainer's own counters (non-finite steps, ring rows not yet logged). */
  readonly trainer: { readonly nonFiniteInARow: number; readonly skipped: number; readonly ringFill: number };
}

interface StateFile extends CheckpointState {
  readonly version: number;
  readonly files: Record<FileName, { bytes: number; sha256: string }>;
}

export type CheckpointTensors = Record<FileName, ReadonlyMap<string, Tensor>>;

export const checkpointsDir = (out: string): string => join(out, 'checkpoints');
const STEP_DIR = /^step-(\d+)$/;
const TEMP_DIR = /^\.tmp-step-\d+/;

async function sha256(file: string): Promise<{ bytes: number; sha256: string }> {
  const data = await readFile(file);
  return { bytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') };
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The complete checkpoints under `out`, oldest first (temporaries are not checkpoints). */
export async function listCheckpoints(out: string): Promise<{ step: number; dir: string }[]> {
  let names: string[];
  try {
    names = await readdir(checkpointsDir(out));
  } catch {
    return [];
  }
  return names
    .flatMap((n) => {
      const m = STEP_DIR.exec(n);
      return m ? [{ step: Number(m[1]), dir: join(checkpointsDir(out), n) }] : [];
    })
    .sort((a, b) => a.step - b.step);
}

/** Removes temporaries left by a writer that was killed. */
export async function removeTemporaries(out: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(checkpointsDir(out));
  } catch {
    return;
  }
  for (const n of names) if (TEMP_DIR.test(n)) await rm(join(checkpointsDir(out), n), { recursive: true, force: true });
}

/**
 * Writes checkpoint `state.step` atomically and keeps the last `keepLast`. Returns its directory. A
 * checkpoint of that step already there (a resumed run reaching it again) is left as it is.
 */
export async function saveCheckpoint(out: string, state: CheckpointState, tensors: CheckpointTensors, keepLast: number): Promise<string> {
  const root = checkpointsDir(out);
  await mkdir(root, { recursive: true });
  const final = join(root, `step-${state.step}`);
  const exists = await stat(final).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const tmp = join(root, `.tmp-step-${state.step}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    const files = {} as StateFile['files'];
    for (const f of FILES) {
      await io.saveSafetensors(join(tmp, f), tensors[f], { format: 'pt' });
      files[f] = await sha256(join(tmp, f));
      killPoint('ckpt-between-files');
    }
    const body: StateFile = { version: CHECKPOINT_VERSION, ...state, files };
    const fh = await open(join(tmp, 'state.json'), 'w');
    try {
      await fh.writeFile(JSON.stringify(body, null, 1) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await syncDir(tmp);
    killPoint('ckpt-before-rename');
    await rename(tmp, final);
    await syncDir(root);
    killPoint('ckpt-after-rename');
  }
  const all = await listCheckpoints(out);
  for (const c of all.slice(0, Math.max(0, all.length - keepLast))) await rm(c.dir, { recursive: true, force: true });
  return final;
}

export interface LoadedCheckpoint {
  readonly dir: string;
  readonly state: CheckpointState;
  readonly tensors: Record<FileName, Map<string, Tensor>>;
}

const fail = (dir: string, msg: string): never => {
  throw new CheckpointError(`checkpoint ${dir}: ${msg}`);
};

/** Reads and verifies a checkpoint directory (state.json, then each file's size and SHA-256). */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  let body: StateFile;
  try {
    body = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateFile;
  } catch (e) {
    return fail(dir, `incomplete or corrupt: cannot read state.json (${e instanceof Error ? e.message : String(e)})`);
  }
  if (body.version !== CHECKPOINT_VERSION) fail(dir, `format version ${JSON.stringify(body.version)}, this Kiln reads ${CHECKPOINT_VERSION}`);
  if (typeof body.files !== 'object' || body.files === null) fail(dir, 'state.json lists no files');
  for (const f of FILES) {
    const want = body.files[f];
    if (!want) fail(dir, `state.json does not list ${f}`);
    let got: { bytes: number; sha256: string };
    try {
      got = await sha256(join(dir, f));
    } catch {
      return fail(dir, `${f} is missing`);
    }
    if (got.bytes !== want.bytes) fail(dir, `${f} is truncated or corrupt: ${got.bytes} bytes, state.json says ${want.bytes}`);
    if (got.sha256 !== want.sha256) fail(dir, `${f} is corrupt: SHA-256 ${got.sha256.slice(0, 12)}…, state.json says ${want.sha256.slice(0, 12)}…`);
  }
  const tensors = {} as LoadedCheckpoint['tensors'];
  for (const f of FILES) tensors[f] = await io.loadSafetensors(join(dir, f));
  const { version: _v, files: _f, ...state } = body;
  return { dir, state, tensors };
}

/** Canonical JSON (sorted keys) for comparing configs and kernel choices. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Refuses a checkpoint of another architecture or taken under other kernel choices (other bits). */
export function checkCompatible(ck: LoadedCheckpoint, architecture: unknown, kernels: KernelChoices): void {
  if (canonical(ck.state.architecture) !== canonical(architecture))
    fail(ck.dir, `was written for another model config:\n  checkpoint: ${canonical(ck.state.architecture)}\n  this run:   ${canonical(architecture)}`);
  const k = ck.state.kernels;
  if (canonical(k.env) !== canonical(kernels.env))
    fail(ck.dir, `was written under other kernel variant switches (${canonical(k.env)}, now ${canonical(kernels.env)}); set them as then to resume exactly`);
  if (canonical(k.forced ?? {}) !== canonical(kernels.forced ?? {}))
    fail(ck.dir, `was written under other forced kernel choices (${canonical(k.forced ?? {})}, now ${canonical(kernels.forced ?? {})}); force them as then to resume exactly`);
  if (canonical(k.tuning) !== canonical(kernels.tuning))
    fail(ck.dir, 'was written under other tuned kernel choices (the tuning cache or KILN_TUNE changed since); restore them, or run with the same KILN_TUNE and KILN_CACHE_DIR');
}

/**
 * Cuts `metrics.jsonl` back to the rows of steps ≤ `step` (a half-written last line goes too), atomically.
 * Rows after the checkpoint are produced again by the resumed run.
 */
export async function truncateMetrics(file: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return;
  }
  const keep: string[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let row: { step?: unknown };
    try {
      row = JSON.parse(line) as { step?: unknown };
    } catch {
      break; // a half-written line: the process died while appending it
    }
    if (typeof row.step !== 'number' || row.step > step) break;
    keep.push(line);
  }
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, keep.map((l) => `${l}\n`).join(''));
  await rename(tmp, file);
}
