// `npm run bench`: the adapter's ceilings (FMA GFLOP/s, copy GB/s), then the suites — f32 matmul and the
// norm ops (softmax, layerNorm) timed in Kiln and in the peer engines in the same process on the same
// adapter; Kiln's fused attention and infoNCE against their unfused compositions; model throughput — printed
// as tables and saved as JSON. Usage: node bench/run.mjs --help. Notes and measured numbers: bench/NOTES.md.

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { create, globals } from 'webgpu';
import { cpuPeak, measureCeilings } from './lib/ceilings.mjs';
import { timeShape } from './lib/harness.mjs';
import { loadKiln } from './lib/kiln-engine.mjs';
import { USAGE, parseOptions } from './lib/options.mjs';
import { loadPeer, peerName } from './lib/peers.mjs';
import { normProblem } from './lib/norm-problems.mjs';
import { matmulProblem } from './lib/problems.mjs';
import { ceilingsText, matmulText, normText, suiteText, writeJson } from './lib/report.mjs';
import { fmtMs, fmtNum } from './lib/stats.mjs';

let opts;
try {
  opts = parseOptions();
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const log = (s) => console.log(s);
const started = performance.now();

// One Dawn instance for the whole process: Kiln's init() and the peers all find it at navigator.gpu.
// `dawn` stays referenced for the life of the process (Dawn crashes Node when it is garbage-collected).
if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
Object.assign(globalThis, globals);
const dawn = create([]);
Object.defineProperty(globalThis, 'navigator', {
  value: { gpu: dawn, userAgent: `Node.js/${process.version}`, language: 'en-US', hardwareConcurrency: os.cpus().length },
  configurable: true,
  writable: true,
});

const loadAtStart = os.loadavg();
const has = (suite) => opts.suites.includes(suite);
log(`kiln bench${opts.quick ? ' (--quick)' : ''}: suites ${opts.suites.join(', ')}; matmul shapes ${opts.shapes.join(', ')}; up to ${opts.runs} runs; ` +
  `peers: ${opts.peers.join(', ') || 'none'}`);
log(`load average ${loadAtStart.map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs` + (loadAtStart[0] > os.cpus().length ? ' — the machine is busy: expect slow, noisy timings' : ''));

// ---- ceilings, on a device of the bench's own -------------------------------------------------------------
const adapter = await dawn.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('bench: no WebGPU adapter (see /work/shared/reference/software-adapter.md)');
const software = adapter.info.architecture === 'software' || /llvmpipe|swiftshader|lavapipe/i.test(adapter.info.description + adapter.info.device);
const peak = software ? cpuPeak() : null;
log(`adapter: ${adapter.info.vendor} ${adapter.info.architecture} "${adapter.info.description || adapter.info.device}"`);
let ceilings = null;
if (opts.ceilings) {
  log('\nmeasuring ceilings…');
  ceilings = await measureCeilings(dawn, opts);
  log(ceilingsText(ceilings, peak));
}
const fmaGflops = ceilings?.fma.gflops ?? null;

// ---- engines --------------------------------------------------------------------------------------------
log('\nstarting engines…');
const kilnEngine = await loadKiln();
const canTune = typeof kilnEngine.kiln.tuneMatmul === 'function';
log(`  Kiln ${kilnEngine.version}: ${kilnEngine.confirmed}; ` +
  (!canTune ? 'no kiln.tuneMatmul in this build (not tuned)' : opts.tune ? `kiln.tuneMatmul before each shape up to ${opts.tuneMax}` : 'not tuned (--no-tune)'));
const engines = [kilnEngine];
const skippedPeers = [];
for (const id of opts.peers) {
  const r = await loadPeer(id, log);
  if (r.engine) engines.push(r.engine);
  else {
    skippedPeers.push({ id, name: peerName(id), reason: r.skipped });
    log(`  ${peerName(id)}: skipped — ${r.skipped}`);
  }
}

// ---- matmul ---------------------------------------------------------------------------------------------
const problems = has('matmul') ? opts.shapes.map(matmulProblem) : [];
const results = [];
const lastRun = new Map(); // engine id → { ms, flops } of its last timed shape, to predict the next one
if (problems.length) log('\nmatmul f32 (median of product + readback; fresh inputs every run; runs round-robin across engines):');
const tuning = [];
for (const p of problems) {
  try {
    const t = opts.tune && Math.max(p.M, p.N, p.K) <= opts.tuneMax ? await kilnEngine.tune(p) : null;
    if (t) {
      tuning.push({ shape: p.id, ms: t.ms, result: t.result });
      log(`  ${p.label.padEnd(22)} kiln.tuneMatmul({ M: ${p.M}, K: ${p.K}, N: ${p.N} }) took ${fmtMs(t.ms)} ms`);
    }
  } catch (err) {
    tuning.push({ shape: p.id, error: String(err?.message ?? err) });
    log(`  ${p.label.padEnd(22)} kiln.tuneMatmul failed (timing the default kernel): ${String(err?.message ?? err).split('\n')[0]}`);
  }
  const timed = [];
  const skippedRows = [];
  for (const e of engines) {
    const prev = lastRun.get(e.id);
    const predictedS = prev ? (prev.ms * p.flops) / prev.flops / 1000 : 0;
    if (predictedS > opts.maxRunS) {
      const skipped = `skipped: one run predicted to take ${predictedS.toFixed(1)} s (> --max-run=${opts.maxRunS})`;
      skippedRows.push({ engine: e.id, name: e.name, shape: p.id, skipped });
      log(`  ${p.label.padEnd(22)} ${e.name.padEnd(26)} ${skipped}`);
    } else timed.push(e);
  }
  const measured = await timeShape(kilnEngine.kiln, timed, p, opts, log);
  const order = (r) => engines.findIndex((e) => e.id === r.engine);
  results.push(...[...skippedRows, ...measured].sort((x, y) => order(x) - order(y)));
  for (const r of measured) {
    if (r.error) {
      log(`  ${p.label.padEnd(22)} ${r.name.padEnd(26)} ${r.error}`);
      continue;
    }
    lastRun.set(r.engine, { ms: r.ms.median, flops: p.flops });
    log(`  ${p.label.padEnd(22)} ${r.name.padEnd(26)} ${fmtMs(r.ms.median).padStart(8)} ms  ${fmtNum(r.gflops).padStart(6)} GFLOP/s  ${r.runs} runs` +
      (r.computeMs ? `  (op + flush ${fmtMs(r.computeMs.median)} ms)` : '') + `  ${r.check.ok ? 'ok' : 'CHECK FAILED'}`);
  }
}
// ---- norm: softmax and layerNorm over the last axis of 4096×1024 ------------------------------------------
const normProblems = has('norm') ? [normProblem('softmax'), normProblem('layerNorm')] : [];
const normResults = [];
if (normProblems.length) log('\nnorm ops f32, last axis (median of op + readback; fresh inputs every run; runs round-robin across engines):');
for (const p of normProblems) {
  const timed = engines.filter((e) => e.norm);
  for (const e of engines.filter((x) => !x.norm)) normResults.push({ engine: e.id, name: e.name, shape: p.id, skipped: 'skipped: no norm ops wired for this engine' });
  const measured = await timeShape(kilnEngine.kiln, timed, p, opts, log);
  normResults.push(...measured);
  for (const r of measured) {
    if (r.error) log(`  ${p.label.padEnd(22)} ${r.name.padEnd(26)} ${r.error}`);
    else
      log(`  ${p.label.padEnd(22)} ${r.name.padEnd(26)} ${fmtMs(r.ms.median).padStart(8)} ms  ${fmtNum(r.gbps).padStart(6)} GB/s  ${r.runs} runs` +
        (r.computeMs ? `  (op + flush ${fmtMs(r.computeMs.median)} ms)` : '') + `  ${r.check.ok ? 'ok' : 'CHECK FAILED'} ${r.check.maxErr.toExponential(1)}`);
  }
}
for (const e of engines.slice(1)) await e.close?.(); // peers done; Kiln runs the remaining suites

// ---- Kiln-only suites: fused kernels against their unfused compositions, model throughput -----------------
// --quick keeps one small shape of each so a smoke run of every suite stays short.
const kiln = kilnEngine.kiln;
const suiteRuns = opts.quick ? 2 : Math.min(opts.runs, 5);
const kilnSuites = {
  attention: async () => {
    const { benchAttention } = await import('./attention.mjs');
    return benchAttention(kiln, { runs: suiteRuns, log: (x) => log(`  ${x}`), ...(opts.quick ? { shapes: [[32, 197, 64]] } : {}) });
  },
  infonce: async () => {
    const { benchInfoNCE } = await import('./infonce.mjs');
    return benchInfoNCE(kiln, { runs: suiteRuns, maxRunS: opts.maxRunS, log, ...(opts.quick ? { sizes: [[256, 512]] } : {}) });
  },
  models: async () => {
    const { benchModels } = await import('./models.mjs');
    return benchModels(kiln, { runs: suiteRuns, log: (x) => log(`  ${x}`), ...(opts.quick ? { sizes: ['tiny'], clip: false, batch: 2 } : {}) });
  },
  f16: async () => {
    const { benchF16 } = await import('./f16.mjs');
    return benchF16(kiln, { runs: suiteRuns, log: (x) => log(`  ${x}`), ...(opts.quick ? { sizes: [256], attention: [[32, 197, 64]] } : {}) });
  },
};
const suiteResults = {};
for (const [name, runSuite] of Object.entries(kilnSuites)) {
  if (!has(name)) continue;
  log(`\n${name} (Kiln only):`);
  const t0 = performance.now();
  try {
    suiteResults[name] = { rows: await runSuite(), seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    suiteResults[name] = { error: String(err?.message ?? err), seconds: (performance.now() - t0) / 1000 };
    log(`  ! ${name} failed: ${String(err?.message ?? err).split('\n')[0]}`);
  }
}
await kilnEngine.close?.();

// ---- report ---------------------------------------------------------------------------------------------
log('\n== Ceilings ==');
log(ceilings ? ceilingsText(ceilings, peak) : '(skipped: --no-ceilings)');
if (problems.length) {
  log('\n== Matmul f32: median of product + readback per run, fresh inputs each run; spread is min–max ==');
  log('   % FMA = share of the measured FMA ceiling; Kiln speed-up = engine median ÷ Kiln median (>1: Kiln faster)');
  log(matmulText(results, problems, fmaGflops));
}
if (normProblems.length) {
  log('\n== softmax / layerNorm f32 over the last axis: median of op + readback per run, fresh inputs each run ==');
  log('   GB/s count the bytes the op must move (x read once, y written once; layerNorm also w and b);');
  log('   % copy = share of the measured copy-kernel ceiling; Kiln speed-up = engine median ÷ Kiln median');
  log(normText(normResults, normProblems, ceilings?.copy.kernelGBps ?? null));
}
const suiteTitles = {
  attention: 'fused vs unfused scaled-dot-product attention (Kiln), median of forward and of forward + backward',
  infonce: 'fused vs unfused InfoNCE forward + backward (Kiln)',
  models: 'model encode with random weights (Kiln), median per batch, embedding read back',
  f16: 'f16 vs f32 matmul and fused attention (Kiln), median ms and peak memory',
};
for (const [name, r] of Object.entries(suiteResults)) {
  log(`\n== ${suiteTitles[name]}; ${r.seconds.toFixed(0)} s ==`);
  log(r.error ? `failed: ${r.error.split('\n')[0]}` : suiteText(name, r.rows));
}
if (skippedPeers.length) log('\nSkipped peers:\n' + skippedPeers.map((s) => `  ${s.name}: ${s.reason}`).join('\n'));
const leaked = kilnEngine.kiln.memory().liveTensors;
if (leaked !== 0) log(`\n! Kiln reports ${leaked} live tensors after the bench (expected 0)`);

/** The commit the bench ran on, '+dirty' when the working tree had changes; null outside a git checkout. */
function gitRevision() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' }).trim();
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : '');
  } catch {
    return null;
  }
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = opts.out ?? fileURLToPath(new URL(`./results/${stamp}.json`, import.meta.url));
writeJson(out, {
  date: new Date().toISOString(),
  node: process.version,
  revision: gitRevision(),
  loadAverage: { start: loadAtStart, end: os.loadavg() },
  options: opts,
  adapter: { ...kilnEngine.kiln.deviceInfo() },
  cpu: peak,
  ceilings,
  engines: engines.map((e) => ({ id: e.id, name: e.name, version: e.version, confirmed: e.confirmed })),
  skippedPeers,
  kiln: { version: kilnEngine.version, tuning, liveTensorsAfter: leaked },
  results,
  norm: normResults,
  suites: suiteResults,
  seconds: (performance.now() - started) / 1000,
});
log(`\nwrote ${out} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
// Dawn keeps handles open; end explicitly once everything is written. A wrong or failed Kiln result fails
// the bench (a peer's is reported, not fatal).
const kilnBad = [...results, ...normResults].filter((r) => r.engine === 'kiln' && (r.error || (r.check && !r.check.ok)));
if (kilnBad.length) log(`\n! Kiln failed on ${kilnBad.map((r) => r.shape).join(', ')}`);
const suitesBad = Object.keys(suiteResults).filter((k) => suiteResults[k].error);
if (suitesBad.length) log(`! suites failed: ${suitesBad.join(', ')}`);
process.exit(kilnBad.length || suitesBad.length ? 1 : 0);
