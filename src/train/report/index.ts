// kiln.train.writeReport: the run report — one self-contained HTML file (`<out>/report.html`) drawn from a
// run directory's metrics.jsonl and its held-out embeddings (`report-data.json`, written by the run's
// evaluation; recomputed from the newest checkpoint when asked and absent). fit() and the demo write it
// at their end; `kiln report <out>` rebuilds it.

import { join } from 'node:path';
import { data } from '../../public.js';
import { listCheckpoints } from '../checkpoint.js';
import { evaluate, loadTrainedModel } from '../evaluate.js';
import type { TrainModel } from '../model.js';
import { REPORT_FILE, type ReportData, readReportData, readRuns, reportData, writeAtomically, writeReportData } from './data.js';
import { renderReport } from './html.js';

export { REPORT_DATA_FILE, REPORT_FILE, type ReportData, type RunRows, readReportData, readRuns, reportData, writeReportData } from './data.js';
export { renderReport, choosePairs, HEAT_MAP_SAMPLES, type ReportInput } from './html.js';
export { pca, type Projection } from './pca.js';

export interface WriteReportOptions {
  /** The page's title (default: the directory's path). */
  readonly title?: string;
  /**
   * Without report-data.json, embed held-out synthetic scenes with the newest checkpoint (ImageBind runs;
   * needs the GPU) and store them as report-data.json first. Default false: the report then says why it
   * has no embeddings.
   */
  readonly recompute?: boolean;
  /** Held-out samples and data seed for a recomputation (default 256 and 0, as `kiln eval`). */
  readonly samples?: number;
  readonly seed?: number;
}

/**
 * Writes `<dir>/report.html` for a run directory (or a directory of stages, each with its metrics.jsonl);
 * resolves to its path.
 * @example const file = await kiln.train.writeReport('runs/demo'); // open it in a browser
 */
export async function writeReport(dir: string, opts: WriteReportOptions = {}): Promise<string> {
  const runs = await readRuns(dir);
  const last = runs.at(-1)!;
  let d = (await readReportData(dir)) ?? (last.dir !== dir ? await readReportData(last.dir) : null);
  let note = `No report-data.json in ${dir}: the run recorded no held-out embeddings (fit() stores them when it evaluates retrieval; \`kiln report\` recomputes them from the newest checkpoint).`;
  if (!d && opts.recompute) {
    const ck = (await listCheckpoints(last.dir)).at(-1);
    if (!ck) note = `No report-data.json and no checkpoint under ${last.dir} to recompute the held-out embeddings from.`;
    else {
      const got = await recomputeData(ck.dir, ck.step, opts.samples ?? 256, opts.seed ?? 0);
      if (typeof got === 'string') note = got;
      else {
        await writeReportData(dir, got);
        d = got;
      }
    }
  }
  const html = renderReport({ title: opts.title ?? dir, runs, data: d, dataNote: note, generated: new Date().toISOString().replace('T', ' ').slice(0, 19) + ' UTC' });
  return writeAtomically(join(dir, REPORT_FILE), html);
}

/** Held-out synthetic scenes sized for an ImageBind model's inputs (the data `kiln eval` scores on). */
export async function syntheticHeldOut(model: TrainModel, samples: number, seed: number): Promise<data.SyntheticDataset> {
  const arch = model.architecture;
  if (arch.family !== 'imagebind') throw new Error(`syntheticHeldOut: synthetic scenes are sized for ImageBind models; this is a ${arch.family} model`);
  return data.synthetic({
    size: samples,
    seed,
    split: 'heldout',
    imageSize: arch.vision.imageSize,
    contextLength: arch.text.contextLength,
    numMelBins: arch.audio.numMelBins,
    targetLength: arch.audio.targetLen,
    imuSamples: arch.imu.numSamples,
  });
}

/** Every modality's held-out embeddings under a checkpoint, or a sentence saying why there are none. */
async function recomputeData(checkpoint: string, step: number, samples: number, seed: number): Promise<ReportData | string> {
  const model = await loadTrainedModel(checkpoint);
  try {
    if (model.architecture.family !== 'imagebind') return `No report-data.json, and ${checkpoint} holds a ${model.architecture.family} model: held-out embeddings are recomputed only for ImageBind (on synthetic scenes).`;
    const heldOut = await syntheticHeldOut(model, samples, seed);
    const mods = Object.keys(heldOut.inputs).filter((m) => m in model.inputs && m !== 'vision');
    // Pairs with vision reach every modality; only the embeddings are kept.
    const r = await evaluate(model, heldOut, { pairs: mods.map((m) => ['vision', m] as const), zeroShot: [], samples });
    return reportData(r, heldOut, step);
  } finally {
    model.module.dispose();
  }
}
