// Summary statistics of timing samples (median and spread); no timing is done here.

/** Median, min, max, quartiles of a list of milliseconds. */
export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => {
    const x = p * (s.length - 1);
    const lo = Math.floor(x);
    const hi = Math.ceil(x);
    return s[lo] + (s[hi] - s[lo]) * (x - lo);
  };
  return { n: s.length, median: q(0.5), min: s[0], max: s[s.length - 1], q1: q(0.25), q3: q(0.75) };
}

/** GFLOP/s for `flops` done in `ms` milliseconds. */
export const gflops = (flops, ms) => flops / (ms * 1e6);

export const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
export const fmtNum = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
