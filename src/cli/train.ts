// `kiln train`: runs kiln.train.fit from a config file with --out, --resume and --set overrides. Exit
// status 0 when training completes, 1 on a runtime failure, 2 on bad usage or a bad config.

import { join } from 'node:path';
import { CheckpointError, ConfigError, REPORT_FILE, fit } from '../train/index.js';
import { parseOptions } from './args.js';
import { type Command, UsageError } from './command.js';

const usage = `usage: kiln train --config <file> [--out <dir>] [--resume <dir>|auto] [--set key=value …]

Trains ImageBind or CLIP as the config (JSON or YAML) says, writing <out>/metrics.jsonl and checkpoints
to <out>/checkpoints/step-<N>/.

  --config <file>       the training config (.yaml, .yml or .json; required)
  --out <dir>           output directory (overrides the config's 'out')
  --resume <dir>|auto   continue from a checkpoint directory, or from the newest complete one under --out
                        ('auto' starts fresh when there is none); or from an OpenCLIP epoch_N.pt (CLIP)
  --set key=value       override a config field by dotted path (repeatable), e.g. --set optimizer.lr=1e-4`;

export const train: Command = {
  name: 'train',
  summary: 'train or fine-tune ImageBind or CLIP from a config file (exact resume after a crash)',
  usage,
  async run(args, io) {
    const { values } = parseOptions(args, { config: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' }, set: { type: 'string', multiple: true } });
    if (values.config === undefined) throw new UsageError('--config <file> is required');
    const sets = [...(values.set ?? []), ...(values.out !== undefined ? [`out=${JSON.stringify(values.out)}`] : [])];
    const tty = process.stdout.isTTY ? { write: (s: string) => void process.stdout.write(s), columns: process.stdout.columns } : null;
    try {
      const s = await fit(values.config, { sets, resume: values.resume ?? null, print: io.out, tty });
      io.out(`kiln train: ${s.steps} steps${s.resumedFrom ? ` (resumed from ${s.resumedFrom})` : ''}, final loss ${s.loss?.toPrecision(4) ?? '?'}, ${s.skipped} skipped, in ${s.seconds.toFixed(1)} s → ${s.checkpoint}${s.exported ? `; LoRA adapters → ${s.exported}` : ''}; report → ${join(s.out, REPORT_FILE)}`);
      return 0;
    } catch (e) {
      // A config error names its field: the usage text would only bury it.
      if (e instanceof ConfigError || e instanceof CheckpointError) io.err(`kiln train: ${e.message}`);
      else throw e;
      return e instanceof ConfigError ? 2 : 1;
    }
  },
};
