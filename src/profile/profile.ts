// kiln.profile and profileSteps: install a profiling session in the device layer around a function, wait
// for its GPU work, read the timestamps back and build the report. Nothing here runs when not profiling.

import { flush, sync } from '../device/batch.js';
import { difference, snapshot } from '../device/counters.js';
import { gpu } from '../device/gpu.js';
import { recordFunction } from '../device/probe.js';
import { ProfileSession, type Timing } from '../device/profiler.js';
import { ProfileReport } from './report.js';

export interface ProfileOptions {
  /**
   * 'auto' (default): GPU timestamp queries where the adapter has `timestamp-query`, else the
   * flush-and-time fallback. 'flush' forces the fallback; 'timestamps' throws where they are missing.
   * The environment variable KILN_PROFILE_TIMING sets the default.
   */
  readonly timing?: 'auto' | Timing;
}

function chooseTiming(opts: ProfileOptions): Timing {
  const env = typeof process !== 'undefined' ? process.env?.['KILN_PROFILE_TIMING'] : undefined;
  const asked = opts.timing ?? env ?? 'auto';
  const has = gpu('profile').hasTimestamps;
  switch (asked) {
    case 'auto':
      return has ? 'timestamps' : 'flush';
    case 'flush':
      return 'flush';
    case 'timestamps':
      if (!has) throw new Error("profile: timing 'timestamps' needs the adapter's timestamp-query feature, which this device lacks; use timing 'flush'");
      return 'timestamps';
    default:
      throw new Error(`profile: timing must be 'auto', 'timestamps' or 'flush', got '${String(asked)}' (option timing or KILN_PROFILE_TIMING)`);
  }
}

async function record(fn: () => unknown, opts: ProfileOptions): Promise<ProfileReport> {
  const timing = chooseTiming(opts);
  // Work recorded before the profile is submitted and finished first, so it is neither timed nor counted.
  await sync();
  const session = new ProfileSession(timing);
  session.install();
  const base = snapshot();
  const t0 = performance.now();
  let wallMs: number;
  try {
    await fn();
    await sync();
    wallMs = performance.now() - t0;
  } catch (e) {
    session.uninstall();
    // Commands already recorded write into the session's query sets: submit them before freeing those.
    flush();
    session.discard();
    throw e;
  } finally {
    session.uninstall();
  }
  const stats = difference(snapshot(), base);
  await session.resolve();
  return new ProfileReport(timing, wallMs, session.dispatches, stats, session.events, session.memoryTimeline, session.submitMs);
}

/**
 * Runs `fn` and records every dispatch it makes (kernel, op, shapes, workgroups, GPU time), its submits,
 * readbacks, buffer creations, pipeline compiles and memory in use. While profiling each dispatch gets its
 * own compute pass with two timestamp writes: on the software adapter a profiled training step took 1.5–2.2×
 * its unprofiled wall time (the kernel times themselves are what the table reports). Outside a profile
 * nothing of this runs.
 * @example const report = await kiln.profile(async () => { step(); await loss.data(); }); console.log(report.table());
 */
export async function profile(fn: () => unknown, opts: ProfileOptions = {}): Promise<ProfileReport> {
  return record(fn, opts);
}

/**
 * Profiles `steps` calls of `stepFn` after `warmup` unprofiled ones (default 1: pipeline compiles and the
 * pool's first allocations stay out of the table); each step is a range on the trace's CPU track. The
 * entry point for `kiln profile --config … --steps N`.
 * @example const report = await kiln.profileSteps(() => trainer.step(), 5); console.log(report.table());
 */
export async function profileSteps(stepFn: (step: number) => unknown, steps: number, opts: ProfileOptions & { warmup?: number } = {}): Promise<ProfileReport> {
  const warmup = opts.warmup ?? 1;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`profileSteps: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`profileSteps: warmup must be a non-negative integer, got ${warmup}`);
  for (let i = 0; i < warmup; i++) await stepFn(i);
  return record(async () => {
    for (let i = 0; i < steps; i++) await recordFunction(`step ${warmup + i}`, () => stepFn(warmup + i));
  }, opts);
}
