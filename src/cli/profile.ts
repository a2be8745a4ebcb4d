// `kiln profile`: profiles training steps of a `kiln train` config and prints kiln.profile's table (by
// kernel, by op, by range), optionally writing the Chrome trace. The run is the trainer's own loop: the
// profile opens after the warm-up steps and closes after the profiled ones, from the step callback.

import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ProfileReport, profile } from '../public.js';
import { ConfigError, fit } from '../train/index.js';
import { intOption, parseOptions } from './args.js';
import { type Command, UsageError } from './command.js';

const usage = `usage: kiln profile --config <file> [--steps N] [--warmup N] [--timing auto|timestamps|flush] [--trace <file>] [--set key=value …]

Runs the training config for warm-up + N steps (no evaluation, one checkpoint at the end into a temporary
directory) and profiles N training steps after the warm-up: every dispatch with its GPU time, aggregated by
kernel, by op and by range, plus submits, readbacks, buffer creations and pipeline compiles.

  --config <file>   the training config (as for kiln train; required)
  --steps N         training steps to profile (default 3)
  --warmup N        unprofiled steps first: pipeline compiles and first allocations (default 1; with 0
                    the profile also holds the run's set-up: model build and weight initialisation)
  --timing <t>      auto (timestamp queries when the adapter has them), timestamps, or flush (the fallback)
  --trace <file>    also write a Chrome trace (chrome://tracing, ui.perfetto.dev)
  --set key=value   override a config field by dotted path (repeatable)`;

export const profileCommand: Command = {
  name: 'profile',
  summary: 'profile training steps of a config: GPU time by kernel, op and range, and a Chrome trace',
  usage,
  async run(args, io) {
    const { values } = parseOptions(args, { config: { type: 'string' }, steps: { type: 'string' }, warmup: { type: 'string' }, timing: { type: 'string' }, trace: { type: 'string' }, set: { type: 'string', multiple: true } });
    if (values.config === undefined) throw new UsageError('--config <file> is required');
    const steps = intOption('steps', values.steps, 3, 1);
    const warmup = intOption('warmup', values.warmup, 1);
    const timing = values.timing ?? 'auto';
    if (timing !== 'auto' && timing !== 'timestamps' && timing !== 'flush') throw new UsageError(`--timing: expected auto, timestamps or flush, got "${timing}"`);

    const out = await mkdtemp(join(tmpdir(), 'kiln-profile-'));
    // One step past the profiled ones: the run's final log (a readback) and checkpoint fall outside the profile.
    const total = warmup + steps + 1;
    const sets = [...(values.set ?? []), `out=${JSON.stringify(out)}`, `steps=${total}`, 'epochs=null', 'evalEvery=0', `logEvery=${total}`, `checkpointEvery=${total}`];
    let stop: (() => void) | null = null;
    let report: Promise<ProfileReport> | null = null;
    const start = (): Promise<void> =>
      new Promise((opened) => {
        report = profile(() => new Promise<void>((resolve) => {
          stop = resolve;
          opened();
        }), { timing });
        // A profile that fails to open (bad timing for this adapter) must not leave the loop waiting.
        report.catch(() => opened());
      });
    try {
      if (warmup === 0) await start();
      await fit(values.config, {
        sets,
        callbacks: {
          async onStep({ step }) {
            if (step === warmup && warmup > 0) await start();
            if (step === warmup + steps) stop?.();
          },
        },
      });
    } catch (e) {
      // Close a profile the failed run left open, so no recorder stays installed.
      (stop as (() => void) | null)?.();
      await (report as Promise<ProfileReport> | null)?.catch(() => undefined);
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    const r = await report!;
    io.out(r.table());
    if (values.trace !== undefined) {
      const tmp = `${values.trace}.tmp-${process.pid}`;
      await writeFile(tmp, r.toChromeTrace());
      await rename(tmp, values.trace);
      io.out(`kiln profile: trace written to ${values.trace}`);
    }
    return 0;
  },
};
