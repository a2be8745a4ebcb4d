// `kiln eval`: evaluates a Kiln checkpoint of ImageBind on held-out synthetic scenes sized for its
// architecture — retrieval both directions, zero-shot classification, validation loss — as text or JSON.

import { parseArgs } from 'node:util';
import { type EvalReport, evaluate, formatEval, loadTrainedModel, syntheticHeldOut } from '../train/index.js';
import { intOption } from './args.js';
import { type Command, UsageError } from './command.js';

const usage = `usage: kiln eval --checkpoint <dir> [--pairs vision:text,text:audio] [--samples <n>] [--seed <n>] [--json]

Evaluates an ImageBind checkpoint (a <out>/checkpoints/step-<N>/ directory) on held-out synthetic scenes
(kiln.data.synthetic, split 'heldout'): Recall@1/5/10 and median rank in both directions per pair, with the
chance level beside each; zero-shot classification of every non-text modality from text prompts; the
validation loss and diagonal/off-diagonal similarity of a batch; intra-class consistency.

  --checkpoint <dir>   the checkpoint directory (required)
  --pairs <list>       comma-separated query:gallery pairs (default: every modality with vision)
  --samples <n>        held-out scenes (default 256)
  --seed <n>           the synthetic data's seed (default 0, as the demo trains with)
  --json               print the report as JSON (embeddings left out)`;

function parsePairs(s: string): [string, string][] {
  return s.split(',').map((p) => {
    const parts = p.trim().split(':');
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UsageError(`--pairs: expected query:gallery pairs such as vision:text,text:audio, got ${JSON.stringify(p)}`);
    return [parts[0], parts[1]];
  });
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate an ImageBind checkpoint: retrieval, zero-shot and validation loss on held-out scenes',
  usage,
  async run(args, io) {
    let values: { checkpoint?: string; pairs?: string; samples?: string; seed?: string; json?: boolean };
    try {
      ({ values } = parseArgs({
        args: [...args],
        options: { checkpoint: { type: 'string' }, pairs: { type: 'string' }, samples: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    if (values.checkpoint === undefined) throw new UsageError('--checkpoint <dir> is required');
    const pairs = values.pairs !== undefined ? parsePairs(values.pairs) : undefined;
    const samples = intOption('samples', values.samples, 256, 2);
    const seed = intOption('seed', values.seed, 0);
    const model = await loadTrainedModel(values.checkpoint);
    try {
      const arch = model.architecture;
      if (arch.family !== 'imagebind') throw new UsageError(`--checkpoint: kiln eval scores ImageBind checkpoints on synthetic scenes; ${values.checkpoint} holds a ${arch.family} model`);
      const heldOut = await syntheticHeldOut(model, samples, seed);
      const report = await evaluate(model, heldOut, { ...(pairs ? { pairs } : {}), samples });
      if (values.json) io.out(JSON.stringify(withoutEmbeddings(report), null, 2));
      else for (const l of formatEval(report)) io.out(l);
      return 0;
    } finally {
      model.module.dispose();
    }
  },
};

function withoutEmbeddings(r: EvalReport): Omit<EvalReport, 'embeddings' | 'labels'> {
  const { embeddings: _e, labels: _l, ...rest } = r;
  return rest;
}
