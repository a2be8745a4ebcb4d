// `kiln report <out>`: rebuilds a run's self-contained HTML report (<out>/report.html) from its run
// directory — curves from metrics.jsonl, heat maps and projections from report-data.json, recomputed from
// the newest checkpoint (ImageBind, synthetic held-out scenes) when that file is missing.

import { writeReport } from '../train/index.js';
import { intOption, parseOptions } from './args.js';
import { type Command, UsageError } from './command.js';

const usage = `usage: kiln report <out> [--title <text>] [--no-recompute] [--samples <n>] [--seed <n>]

Writes <out>/report.html, one self-contained HTML file (no network; open it from disk): loss (total and per
pair), learning rate, gradient norm, recall and data-wait curves from <out>/metrics.jsonl (or from each
stage's directory under <out>, as the demo's stage1/ and stage2/); the similarity matrix of a held-out
batch for a trained and an untrained pair; and a PCA projection of held-out embeddings coloured by class
and marked by modality. The embeddings come from <out>/report-data.json (written by a run's evaluation);
when it is missing they are recomputed from the newest checkpoint on held-out synthetic scenes (ImageBind
only) and stored there.

  --title <text>    the page's title (default: <out>)
  --no-recompute    never load a checkpoint: without report-data.json the report has curves only
  --samples <n>     held-out scenes for a recomputation (default 256)
  --seed <n>        the synthetic data's seed for a recomputation (default 0, as the demo trains with)`;

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a run directory’s self-contained HTML report: curves, similarity heat maps, a PCA projection',
  usage,
  async run(args, io) {
    const { values, positionals } = parseOptions(args, { title: { type: 'string' }, 'no-recompute': { type: 'boolean' }, samples: { type: 'string' }, seed: { type: 'string' } }, true);
    if (positionals.length !== 1) throw new UsageError(`expected one run directory, got ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const samples = intOption('samples', values.samples, 256, 2);
    const seed = intOption('seed', values.seed, 0);
    const file = await writeReport(positionals[0]!, { ...(values.title !== undefined ? { title: values.title } : {}), recompute: !values['no-recompute'], samples, seed });
    io.out(file);
    return 0;
  },
};
