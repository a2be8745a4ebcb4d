// Times the engines on one matmul problem: each warms up, then the timed runs go round-robin across the
// engines (run r of every engine, then run r + 1…), so load that drifts on a shared machine hits all
// engines alike. Every run gets fresh inputs (shared by the engines), is read back, and spot-checked.

import { checkResult, flopsOf, makeInputs } from './problems.mjs';
import { summarize } from './stats.mjs';

/** One run: upload (untimed), the product and its readback (timed: wall clock), the float64 check. */
async function once(engine, p, inputs) {
  const h = await engine.prepare(p, inputs);
  try {
    const t0 = performance.now();
    const r = await engine.run(h);
    const ms = performance.now() - t0;
    const check = checkResult(p, inputs, r.data);
    return { ms, computeMs: r.computeMs ?? null, check };
  } finally {
    await engine.release(h);
  }
}

function summary(engine, p, runs, warm, samples) {
  const all = [...warm, ...samples];
  const failed = all.filter((s) => !s.check.ok);
  const worst = all.reduce((w, s) => (s.check.maxErr > w.check.maxErr ? s : w), all[0]);
  const total = summarize(samples.map((s) => s.ms));
  const computes = samples.map((s) => s.computeMs).filter((x) => x !== null);
  const flops = flopsOf(p);
  return {
    engine: engine.id,
    name: engine.name,
    shape: p.id,
    runs,
    warmupMs: warm.map((s) => s.ms),
    ms: total,
    samplesMs: samples.map((s) => s.ms),
    gflops: flops / (total.median * 1e6),
    gflopsMin: flops / (total.max * 1e6),
    gflopsMax: flops / (total.min * 1e6),
    computeMs: computes.length ? summarize(computes) : null,
    computeGflops: computes.length ? flops / (summarize(computes).median * 1e6) : null,
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
      for (let w = 0; w < opts.warmup; w++) warm.push(await once(e, p, makeInputs(p, -1 - w)));
      if (opts.warmup > 0 && warm[warm.length - 1].ms < 1000) warm.push(await once(e, p, makeInputs(p, -1 - opts.warmup)));
      const last = warm.length ? warm[warm.length - 1].ms : 0;
      const runs = last > 0 ? Math.min(opts.runs, Math.max(3, Math.floor((opts.budgetS * 1000) / last))) : opts.runs;
      state.set(e, { warm, runs, samples: [], error: null });
    } catch (err) {
      state.set(e, { error: err });
    }
  }
  const maxRuns = Math.max(0, ...[...state.values()].map((s) => (s.error ? 0 : s.runs)));
  for (let r = 0; r < maxRuns; r++) {
    const inputs = makeInputs(p, r);
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
