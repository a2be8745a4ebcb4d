// Times the engines on one problem (a matmul, or a row op of the norm suite) with kiln.bench, Kiln's public
// harness: each engine warms up, then the timed runs go round-robin across the engines (run r of every
// engine, then run r + 1…), so load that drifts on a shared machine hits all engines alike. Every run gets
// fresh inputs (shared by the engines), is read back, and checked against float64. A problem brings
// `makeInputs(run)`, `check(inputs, data)` and `flops` or `bytes`; an engine serves matmul through
// prepare/run/release and a row op through the same three methods on `engine.norm`.

import { summarize } from './stats.mjs';

/** The object whose prepare/run/release serve problems of `p`'s kind, or null when the engine has none. */
export const implFor = (engine, p) => (p.kind === 'norm' ? engine.norm ?? null : engine);

function summary(engine, p, res, checks) {
  const failed = checks.filter((c) => !c.check.ok);
  const worst = checks.reduce((w, c) => (c.check.maxErr > w.check.maxErr ? c : w), checks[0]);
  const computes = checks.filter((c) => !c.warm && c.computeMs !== null).map((c) => c.computeMs);
  const flops = p.flops ?? null;
  const bytes = p.bytes ?? null;
  const rate = (ms) => (flops ? flops / (ms * 1e6) : null);
  const gbps = (ms) => (bytes ? bytes / (ms * 1e6) : null);
  const ms = { n: res.runs, median: res.median, min: res.min, max: res.max, q1: res.q1, q3: res.q3 };
  const computeMs = computes.length ? summarize(computes) : null;
  return {
    engine: engine.id,
    name: engine.name,
    shape: p.id,
    runs: res.runs,
    warmupMs: res.warmupMs,
    ms,
    samplesMs: res.samplesMs,
    gflops: rate(ms.median),
    gflopsMin: rate(ms.max),
    gflopsMax: rate(ms.min),
    gbps: gbps(ms.median),
    computeMs,
    computeGflops: computeMs ? rate(computeMs.median) : null,
    computeGbps: computeMs ? gbps(computeMs.median) : null,
    check: { ok: failed.length === 0, failedRuns: failed.length, maxErr: worst.check.maxErr, worst: worst.check.where },
  };
}


/**
 * Times `engines` on `p` with `kiln.bench`; returns one result per engine ({ error } when it threw). Each
 * engine's run count is `opts.runs`, cut (to no fewer than 3) so its timed runs fit in `opts.budgetS`,
 * judged from the last warm-up and again as the runs accumulate. Only `run` is timed (engines read their
 * result back inside it); inputs are made and uploaded before, and checked after, the clock.
 */
export async function timeShape(kiln, engines, p, opts, log) {
  let made = { run: NaN, inputs: null };
  const inputsFor = (run) => {
    if (made.run !== run) made = { run, inputs: p.makeInputs(run) };
    return made.inputs;
  };
  const checks = new Map(engines.map((e) => [e.id, []]));
  const cases = {};
  for (const e of engines) {
    const impl = implFor(e, p);
    cases[e.id] = {
      async prepare(run) {
        const inputs = inputsFor(run);
        return { run, inputs, h: await impl.prepare(p, inputs) };
      },
      run: (x) => impl.run(x.h),
      async release(x, r) {
        try {
          checks.get(e.id).push({ warm: x.run < 0, computeMs: r.computeMs ?? null, check: p.check(x.inputs, r.data) });
        } finally {
          await impl.release(x.h);
        }
      },
    };
  }
  const results = await kiln.bench(cases, { runs: opts.runs, warmup: opts.warmup, budgetMs: opts.budgetS * 1000 });
  return engines.map((e) => {
    const res = results[e.id];
    if (res.error) return { engine: e.id, name: e.name, shape: p.id, error: `error: ${String(res.error.message ?? res.error).split('\n')[0]}` };
    const out = summary(e, p, res, checks.get(e.id));
    if (!out.check.ok)
      log(`  ! ${e.name} ${p.label}: ${out.check.failedRuns} run(s) failed the float64 check, worst ${out.check.maxErr.toExponential(2)} at ${out.check.worst}`);
    return out;
  });
}
