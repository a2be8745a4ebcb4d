// Times a Kiln workload with kiln.bench (warm-up, then timed runs that each wait for the GPU) and records,
// per timed run, the process CPU time and the peak GPU memory: the attention and InfoNCE suites report
// both, since CPU time moves far less than wall time on a loaded machine. No workload of its own.

/**
 * `fn()` is one run (it reads back or flushes what it needs; a number it returns is kept as `result`).
 * Returns kiln.bench's summary plus { cpuMs (median), peakBytes (max over timed runs), result (last run's) }.
 */
export async function benchWithCpu(kiln, fn, { runs, warmup = 1, budgetMs } = {}) {
  const cpu = [];
  let peak = 0;
  let result;
  const summary = await kiln.bench(
    {
      async prepare(run) {
        await kiln.flush();
        kiln.resetPeakMemory();
        return { run, c0: process.cpuUsage() };
      },
      run: () => fn(),
      release(h, r) {
        const c = process.cpuUsage(h.c0);
        result = r;
        if (h.run < 0) return;
        cpu.push((c.user + c.system) / 1000);
        peak = Math.max(peak, kiln.memory().peakBytes);
      },
    },
    { runs, warmup, budgetMs },
  );
  return { ...summary, cpuMs: kiln.summarize(cpu).median, peakBytes: peak, result };
}

/** benchWithCpu with one warm-up (the pipelines compile), summarised as ms figures and peak MiB. */
export async function timeIt(kiln, runs, fn) {
  const r = await benchWithCpu(kiln, fn, { runs, warmup: 1 });
  return { median: r.median, min: r.min, max: r.max, cpuMs: r.cpuMs, peakMiB: r.peakBytes / 2 ** 20 };
}
