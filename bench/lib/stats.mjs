// Summary statistics of timing samples (median and spread) and number formats; no timing is done here.

import { summarize as kilnSummarize } from '../../dist/index.js';

/** Median, min, max, quartiles of a list of milliseconds: kiln.summarize, the statistics of kiln.bench, with the count. */
export function summarize(samples) {
  const { median, min, max, q1, q3 } = kilnSummarize(samples);
  return { n: samples.length, median, min, max, q1, q3 };
}

/** GFLOP/s for `flops` done in `ms` milliseconds. */
export const gflops = (flops, ms) => flops / (ms * 1e6);

export const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
export const fmtNum = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
