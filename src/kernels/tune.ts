// Per-adapter kernel tuning: a launcher names a few candidate configurations of its kernel; `tune()`
// measures them once and keeps the fastest in an on-disk JSON cache, keyed by the adapter, the `webgpu`
// package version, a hash of the kernel source and a shape class. Launchers look choices up synchronously
// with `tuned()`. Not a search: the candidates are a short fixed list, and nothing is measured unless
// someone calls `tune()` (bench, or a user, e.g. through `tuneMatmul`).

import { sync } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { env, isNode, nodeImport } from '../device/host.js';
import type { ProgressCallback } from '../progress.js';
import { currentAdapterClass } from './adapter-class.js';

/** What a kernel's tuning choice is keyed by, besides the adapter. */
export interface TuneKey {
  /** Kernel family, e.g. 'matmul'. */
  readonly kernel: string;
  /** `sourceHash()` of the kernel's WGSL: an edited kernel is measured again. */
  readonly source: string;
  /** Coarse problem class, e.g. 'mll' (small M, large K and N). */
  readonly shapeClass: string;
}

export interface TuneOptions {
  /** Timed runs per candidate after one warm-up run (default 3); the median is kept. */
  readonly runs?: number;
  /** Write the choice to the cache file (default true). */
  readonly persist?: boolean;
  /**
   * Index of the configuration measured best on this adapter class (the default): another candidate
   * replaces it only when its median is at least INCUMBENT_MARGIN faster, so run-to-run noise on a busy
   * machine cannot swap a good default for a slightly slower one.
   */
  readonly incumbent?: number;
  /** Called before the first measurement and after each one (warm-ups, then timed runs). */
  readonly onProgress?: ProgressCallback;
}

/** How much faster than the incumbent a challenger's median must be to win (fraction of its time). */
export const INCUMBENT_MARGIN = 0.1;

interface CacheFile {
  version: 1;
  /** adapter identity → `kernel|source|shapeClass` → chosen configuration */
  adapters: Record<string, Record<string, unknown>>;
}

const FILE = 'tuning.json';
let memory: Record<string, unknown> = {};
let loadedFor: string | null = null;

/** KILN_TUNE=off: every launcher uses its defaults and `tune()` measures nothing. */
export function tuningEnabled(): boolean {
  return env('KILN_TUNE') !== 'off';
}


/** FNV-1a of a kernel's source, as 8 hex digits. */
export function sourceHash(...texts: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const t of texts)
    for (let i = 0; i < t.length; i++) {
      h ^= t.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  return h.toString(16).padStart(8, '0');
}

function runtimeVersion(): string {
  const ctx = gpu('tune');
  if (ctx.info.runtime !== 'webgpu (Dawn, Node)') return ctx.info.runtime;
  return `webgpu@${ctx.info.runtimeVersion ?? 'unknown'}`;
}

/**
 * The adapter class the cache is keyed by (adapter-class.ts: vendor, architecture, device, description,
 * subgroup sizes, f16) and the runtime version.
 */
export function adapterKey(): string {
  return JSON.stringify([...(JSON.parse(currentAdapterClass().key) as unknown[]), runtimeVersion()]);
}

function entryKey(k: TuneKey): string {
  return `${k.kernel}|${k.source}|${k.shapeClass}`;
}

/** The cache directory: KILN_CACHE_DIR, else ~/.cache/kiln; null outside Node. */
export async function cacheDir(): Promise<string | null> {
  const dir = env('KILN_CACHE_DIR');
  if (dir) return dir;
  if (!isNode()) return null;
  const os = await nodeImport<typeof import('node:os')>('node:os');
  const path = await nodeImport<typeof import('node:path')>('node:path');
  return path.join(os.homedir(), '.cache', 'kiln');
}

async function readCache(dir: string): Promise<CacheFile> {
  const fs = await nodeImport<typeof import('node:fs/promises')>('node:fs/promises');
  const path = await nodeImport<typeof import('node:path')>('node:path');
  try {
    const parsed = JSON.parse(await fs.readFile(path.join(dir, FILE), 'utf8')) as Partial<CacheFile>;
    if (parsed.version === 1 && typeof parsed.adapters === 'object' && parsed.adapters !== null) return parsed as CacheFile;
  } catch {
    // Missing or unreadable: start a new cache (a corrupt file is replaced on the next write).
  }
  return { version: 1, adapters: {} };
}

/**
 * Loads this adapter's tuning choices from the cache file into memory, so launchers can look them up
 * synchronously. Called by `kiln.init()`; harmless to call again (after a device change, say).
 */
export async function loadTuningCache(): Promise<void> {
  const key = adapterKey();
  memory = {};
  loadedFor = key;
  const dir = await cacheDir();
  if (dir === null || !tuningEnabled()) return;
  memory = { ...(await readCache(dir)).adapters[key] };
}

/** The cached choice for `key` on this adapter, or `fallback()` (also when KILN_TUNE=off). */
export function tuned<C>(key: TuneKey, fallback: () => C): C {
  if (!tuningEnabled() || loadedFor === null) return fallback();
  const hit = memory[entryKey(key)];
  return hit === undefined ? fallback() : (hit as C);
}

/** Choices forced in code by kernel family (select.ts reads them first). */
export const forcedByApi = new Map<string, unknown>();

/**
 * Forces `kernel`'s choice for every later launch (tests, benchmarks); null restores the normal selection.
 * The family and the value are checked at once against the choice site. Training checkpoints record forced choices.
 */
export function forceKernel(kernel: string, choice: unknown): void {
  const valid = forceable.get(kernel);
  if (!valid) throw new Error(`forceKernel: unknown kernel family ${JSON.stringify(kernel)} (known: ${[...forceable.keys()].join(', ')})`);
  if (choice === null || choice === undefined) forcedByApi.delete(kernel);
  else if (!valid(choice)) throw new Error(`forceKernel: ${JSON.stringify(choice)} is not a valid ${kernel} configuration`);
  else forcedByApi.set(kernel, choice);
}

/** Each choice site's family and validity check (select.ts's defineSite), so forceKernel refuses bad input at once. */
const forceable = new Map<string, (c: unknown) => boolean>();
export function registerForceable(kernel: string, valid: (c: unknown) => boolean): void {
  forceable.set(kernel, valid);
}

/** Choices forced through `forceKernel`, by kernel family (the environment knobs are reported apart). */
export function forcedKernels(): Record<string, unknown> {
  return Object.fromEntries(forcedByApi);
}

/**
 * The forcing knobs of the kernel choice sites (select.ts), read through that mechanism, and KILN_TUNE (a
 * different tile or variant can give different bits).
 */
export const KERNEL_ENV_SWITCHES = ['KILN_TUNE', 'KILN_MATMUL', 'KILN_ATTENTION', 'KILN_INFONCE_TILES'] as const;

/** What `kernelChoices()` reports. */
export interface KernelChoices {
  /** The tuning cache's adapter key (the adapter class and runtime version). */
  adapter: string;
  /** The adapter class's kind: which per-class defaults apply ('software', 'discrete', …). */
  adapterKind: string;
  tuning: Record<string, unknown>;
  env: Record<string, string>;
  /** Choices forced in code (`forceKernel`, `setAttentionConfig`), by kernel family. */
  forced: Record<string, unknown>;
}

/**
 * The kernel choices in force: the adapter class (whose defaults apply where nothing else does), this
 * adapter's loaded tuning entries (none when tuning is off), the forcing knobs set in the environment and
 * choices forced in code. Training checkpoints record them: resuming under other choices would not
 * reproduce the same bits.
 */
export function kernelChoices(): KernelChoices {
  const envs: Record<string, string> = {};
  for (const k of KERNEL_ENV_SWITCHES) {
    const v = env(k);
    if (v !== undefined) envs[k] = v;
  }
  return { adapter: adapterKey(), adapterKind: currentAdapterClass().kind, tuning: tuningEnabled() ? { ...memory } : {}, env: envs, forced: forcedKernels() };
}

/** Writes `file` atomically: a temporary file in the same directory, then a rename over the target. */
async function writeAtomic(dir: string, text: string): Promise<void> {
  const fs = await nodeImport<typeof import('node:fs/promises')>('node:fs/promises');
  const path = await nodeImport<typeof import('node:path')>('node:path');
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `${FILE}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  await fs.writeFile(tmp, text, 'utf8');
  await fs.rename(tmp, path.join(dir, FILE));
}

async function persist(key: TuneKey, choice: unknown): Promise<void> {
  const dir = await cacheDir();
  if (dir === null) return;
  const file = await readCache(dir); // merge with what other processes wrote since we loaded
  const ak = adapterKey();
  file.adapters[ak] = { ...file.adapters[ak], [entryKey(key)]: choice };
  await writeAtomic(dir, JSON.stringify(file, null, 1) + '\n');
}

/** Median wall-clock milliseconds of `run()` through queue completion (the same clock for every candidate). */
async function timeOnce(run: () => void): Promise<number> {
  await sync();
  const t0 = performance.now();
  run();
  await sync();
  return performance.now() - t0;
}

export interface TuneResult<C> {
  readonly choice: C;
  /**
   * Median milliseconds per candidate, in candidate order (empty when tuning is off); a candidate dropped
   * after its first timed run (over `DROP_FACTOR` × the best so far) has that one run.
   */
  readonly times: readonly number[];
}

/** A candidate whose first timed run is this many times the best run so far gets no more runs. */
export const DROP_FACTOR = 2;

/**
 * Measures each candidate on one representative problem (`run(c)` records its dispatches) and keeps the
 * fastest for `key`. Every candidate is warmed up (compile, first run) once; then the timed runs go in
 * interleaved rounds so that a slow moment of a noisy machine does not land on one candidate only. A
 * candidate whose first timed run is over `DROP_FACTOR` × the best timed run so far is dropped from the
 * later rounds (checked as each first run lands and again when the first round ends): at n = 2048 a slow
 * candidate's runs take seconds each and cannot win. Wall clock around queue completion: on a software
 * adapter that is the kernel's time; timestamp queries would need a hook in the command batcher.
 */
export async function tune<C>(key: TuneKey, candidates: readonly C[], run: (c: C) => void, opts: TuneOptions = {}): Promise<TuneResult<C>> {
  if (candidates.length === 0) throw new Error(`kiln.tune(${key.kernel}): no candidates`);
  if (loadedFor !== adapterKey()) await loadTuningCache();
  if (!tuningEnabled()) return { choice: candidates[0]!, times: [] };
  const runs = Math.max(1, opts.runs ?? 3);
  const samples: number[][] = candidates.map(() => []);
  const live = candidates.map(() => true);
  let fastest = Infinity;
  const total = candidates.length * (runs + 1);
  let done = 0;
  const progress = (c?: C): void => opts.onProgress?.({ done, total, unit: 'runs', ...(c === undefined ? {} : { name: JSON.stringify(c) }) });
  progress();
  for (const c of candidates) {
    await timeOnce(() => run(c)); // compile and warm up
    done += 1;
    progress(c);
  }
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < candidates.length; i++) {
      if (!live[i]) continue;
      const t = await timeOnce(() => run(candidates[i]!));
      done += 1;
      progress(candidates[i]);
      samples[i]!.push(t);
      fastest = Math.min(fastest, t);
      if (r === 0 && t > DROP_FACTOR * fastest) live[i] = false;
    }
    // candidates timed before a faster one landed in the first round
    if (r === 0) samples.forEach((s, i) => (live[i] = live[i]! && s[0]! <= DROP_FACTOR * fastest));
  }
  const times = samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
  let best = 0;
  times.forEach((t, i) => {
    if (t < times[best]!) best = i;
  });
  const inc = opts.incumbent;
  if (inc !== undefined && live[inc] && best !== inc && times[best]! > (1 - INCUMBENT_MARGIN) * times[inc]!) best = inc;
  const choice = candidates[best]!;
  if (done < total) {
    done = total; // dropped candidates' runs were skipped
    progress();
  }
  memory[entryKey(key)] = choice;
  if (opts.persist !== false) await persist(key, choice);
  return { choice, times };
}
