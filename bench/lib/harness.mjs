// Times the engines on one problem (a matmul, or a row op of the norm suite): each warms up, then the timed
// runs go round-robin across the engines (run r of every engine, then run r + 1…), so load that drifts on a
// shared machine hits all engines alike. Every run gets fresh inputs (shared by the engines), is read back,
// and checked against float64. A problem brings `makeInputs(run)`, `check(inputs, data)` and `flops` or
// `bytes`; an engine serves matmul through prepare/run/release and a row op through the same three
// methods on `engine.norm`.

import { summarize } from './stats.mjs';

/** The object whose prepare/run/release serve problems of `p`'s kind, or null when the engine has none. */
export const implFor = (engine, p) => (p.kind === 'norm' ? engine.norm ?? null : engine);

/** One run: upload (untimed), the op and its readback (timed: wall clock), the float64 check. */
async function once(engine, p, inputs) {
  const impl = implFor(engine, p);
  const h = await impl.prepare(p, inputs);
  try {
    const t0 = performance.now();
    const r = await impl.run(h);
    const ms = performance.now() - t0;
    const check = p.check(inputs, r.data);
    return { ms, computeMs: r.computeMs ?? null, check };
  } finally {
    await impl.release(h);
  }
}

function summary(engine, p, runs, warm, samples) {
  const all = [...warm, ...samples];
  const failed = all.filter((s) => !s.check.ok);
  const worst = all.reduce((w, s) => (s.check.maxErr > w.check.maxErr ? s : w), all[0]);
  const total = summarize(samples.map((s) => s.ms));
  const computes = samples.map((s) => s.computeMs).filter((x) => x !== null);
  const flops = p.flops ?? null;
  const bytes = p.bytes ?? null;
  const rate = (ms) => (flops ? flops / (ms * 1e6) : null);
  const gbps = (ms) => (bytes ? bytes / (ms * 1e6) : null);
  return {
    engine: engine.id,
    name: engine.name,
    shape: p.id,
    runs,
    warmupMs: warm.map((s) => s.ms),
    ms: total,
    samplesMs: samples.map((s) => s.ms),
    gflops: rate(total.median),
    gflopsMin: rate(total.max),
    gflopsMax: rate(total.min),
    gbps: gbps(total.median),
    computeMs: computes.length ? summarize(computes) : null,
    computeGflops: computes.length ? rate(summarize(computes).median) : null,
    computeGbps: computes.length ? gbps(summarize(computes).median) : null,
    check: { ok: failed.length === 0, failedRuns: failed.length, maxErr: worst.check.maxErr, worst: worst.check.where },
  };
}

/**
 * Times `engines` on `p`; returns one result per engine ({ error } when it threw). Each engine's run count
 * is `opts.runs`, cut (to no fewer than 3) so its timed runs fit in `opts.budgetS`, judged from the last
 * warm-up and again as the runs accumulate; its warm-up is repeated once when it took under a second (the
 * first pays the pipeline compiles).
 */
export async function timeShape(engines, p, opts, log) {
  const state = new Map();
  for (const e of engines) {
    try {
      const warm = [];
      for (let w = 0; w < opts.warmup; w++) warm.push(await once(e, p, p.makeInputs(-1 - w)));
      if (opts.warmup > 0 && warm[warm.length - 1].ms < 1000) warm.push(await once(e, p, p.makeInputs(-1 - opts.warmup)));
      const last = warm.length ? warm[warm.length - 1].ms : 0;
      const runs = last > 0 ? Math.min(opts.runs, Math.max(3, Math.floor((opts.budgetS * 1000) / last))) : opts.runs;
      state.set(e, { warm, runs, samples: [], error: null });
    } catch (err) {
      state.set(e, { error: err });
    }
  }
  const maxRuns = Math.max(0, ...[...state.values()].map((s) => (s.error ? 0 : s.runs)));
  for (let r = 0; r < maxRuns; r++) {
    const inputs = p.makeInputs(r);
    for (const e of engines) {
      const s = state.get(e);
      if (s.error || r >= s.runs) continue;
      // load drifts: once an engine has 3 runs and has spent its budget, it stops even if the warm-up promised more
      const spent = s.samples.reduce((t, x) => t + x.ms, 0);
      if (s.samples.length >= 3 && spent > opts.budgetS * 1000) {
        s.runs = s.samples.length;
        continue;
      }
      try {
        s.samples.push(await once(e, p, inputs));
      } catch (err) {
        s.error = err;
      }
    }
  }
  return engines.map((e) => {
    const s = state.get(e);
    if (s.error) return { engine: e.id, name: e.name, shape: p.id, error: `error: ${String(s.error?.message ?? s.error).split('\n')[0]}` };
    const res = summary(e, p, s.runs, s.warm, s.samples);
    if (!res.check.ok)
      log(`  ! ${e.name} ${p.label}: ${res.check.failedRuns} run(s) failed the float64 check, worst ${res.check.maxErr.toExponential(2)} at ${res.check.worst}`);
    return res;
  });
}
