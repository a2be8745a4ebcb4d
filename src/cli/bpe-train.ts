// `kiln bpe-train`: learns byte-level BPE merges from a text corpus (kiln.text.trainBpe) and writes them
// in CLIP's merges-file format, which kiln.text.Tokenizer.fromMergesFile loads.

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { trainBpe } from '../text/bpe-train.js';
import { formatMerges, gzip } from '../text/merges-file.js';
import { type Command, UsageError, positiveInt } from './command.js';

const usage = `usage: kiln bpe-train --corpus <file> [--merges N] [--min-frequency N] [--out merges.txt.gz]

Learns byte-level BPE merges with CLIP's cleaning, pre-tokeniser and </w> word ends, and writes them as
a merges file (a '#version: 0.2' header line, then 'left right' per line; gzipped unless --out ends
without .gz). Load it with kiln.text.Tokenizer.fromMergesFile(path).

  --corpus <file>       UTF-8 text, one or more captions per line (required)
  --merges N            merges to learn at most (default 4000)
  --min-frequency N     stop when the best pair occurs fewer than N times (default 2)
  --out <file>          where to write (default merges.txt.gz)`;

export const bpeTrain: Command = {
  name: 'bpe-train',
  summary: 'learn byte-level BPE merges from a text corpus (CLIP merges-file format)',
  usage,
  async run(args, io) {
    let values: { corpus?: string; merges?: string; 'min-frequency'?: string; out?: string };
    try {
      ({ values } = parseArgs({
        args: [...args],
        options: { corpus: { type: 'string' }, merges: { type: 'string' }, 'min-frequency': { type: 'string' }, out: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    if (values.corpus === undefined) throw new UsageError('--corpus <file> is required');
    const merges = positiveInt('merges', values.merges, 4000);
    const minFrequency = positiveInt('min-frequency', values['min-frequency'], 2);
    const out = values.out ?? 'merges.txt.gz';

    const t0 = performance.now();
    const corpus = await readFile(values.corpus, 'utf8');
    const result = trainBpe(corpus, { merges, minFrequency });
    const text = new TextEncoder().encode(formatMerges(result.merges));
    await writeFile(out, out.endsWith('.gz') ? await gzip(text) : text);
    const seconds = ((performance.now() - t0) / 1000).toFixed(2);
    io.out(
      `kiln bpe-train: ${result.merges.length} merges from ${result.totalWords} words (${result.uniqueWords} distinct) in ${seconds} s → ${out}`,
    );
    if (result.merges.length < merges)
      io.out(`kiln bpe-train: stopped early: no pair occurs ${minFrequency} or more times (--min-frequency)`);
    return 0;
  },
};
