// Command-line and environment options of bench/run.mjs (argv wins over env); no benchmarking here.

export const USAGE = `node bench/run.mjs [options]          (npm run bench -- [options])
  --suites=LIST        comma list of matmul,norm,attention,infonce,models,f16, or all (default matmul,norm);
                       env KILN_BENCH_SUITES. norm: softmax and layerNorm over 4096×1024 against the peers;
                       attention, infonce: Kiln's fused kernels against their unfused compositions;
                       models: ImageBind and CLIP encode throughput with random weights
  --quick              fast smoke run: n = 256, 512 and the attention shape, 3 runs, short ceilings
                       (and the smallest shape of the attention, infonce and models suites)
  --sizes=LIST         comma list of square sizes and/or "attn" (default 256,512,1024,2048,attn)
                       env KILN_BENCH_SIZES
  --runs=N             timed runs per engine and shape (default 7; fewer when a run is slow, see --budget)
                       env KILN_BENCH_RUNS
  --warmup=N           untimed runs first, per engine and shape (default 1: it pays the compiles)
  --budget=S           seconds of timed runs per engine and shape before the run count is cut (default 30)
  --max-run=S          skip an engine's larger shapes once one run is predicted to take over S s (default 20)
  --peers=LIST         all | none | comma list of tfjs,jax,ort,gpujs (default all); env KILN_BENCH_PEERS
  --no-peers           same as --peers=none
  --no-ceilings        skip the FMA and copy ceilings
  --no-tune            do not call kiln.tuneMatmul before timing Kiln
  --tune-max=N         call kiln.tuneMatmul only for shapes whose largest side is <= N (default 1024;
                       tuning n = 2048 took 5–6 min on a busy machine, 84 s once candidates over 2× the
                       best are dropped after one timed run); larger shapes use the choice the tuner
                       cached for their shape class
  --out=FILE           JSON path (default bench/results/<timestamp>.json)
  --help`;

const PEERS = ['tfjs', 'jax', 'ort', 'gpujs'];
export const SUITES = ['matmul', 'norm', 'attention', 'infonce', 'models', 'f16'];

export function parseOptions(argv = process.argv.slice(2), env = process.env) {
  const flags = new Map();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`bench: unknown argument '${arg}'\n${USAGE}`);
    flags.set(m[1], m[2] ?? 'true');
  }
  const known = ['quick', 'sizes', 'runs', 'warmup', 'budget', 'max-run', 'peers', 'no-peers', 'no-ceilings', 'no-tune', 'tune-max', 'out', 'suites', 'help'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`bench: unknown option --${k}\n${USAGE}`);
  const quick = flags.has('quick') || env.KILN_BENCH_QUICK === '1';
  const num = (name, envName, dflt) => {
    const raw = flags.get(name) ?? (envName ? env[envName] : undefined);
    if (raw === undefined) return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`bench: --${name} wants a number, got '${raw}'`);
    return v;
  };
  const sizesRaw = flags.get('sizes') ?? env.KILN_BENCH_SIZES ?? (quick ? '256,512,attn' : '256,512,1024,2048,attn');
  const shapes = sizesRaw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    if (s === 'attn') return 'attn';
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --sizes wants integers or 'attn', got '${s}'`);
    return n;
  });
  let peersRaw = flags.get('peers') ?? env.KILN_BENCH_PEERS ?? 'all';
  if (flags.has('no-peers')) peersRaw = 'none';
  const peers = peersRaw === 'all' ? PEERS : peersRaw === 'none' ? [] : peersRaw.split(',').map((s) => s.trim());
  for (const p of peers) if (!PEERS.includes(p)) throw new Error(`bench: unknown peer '${p}' (known: ${PEERS.join(', ')})`);
  const suitesRaw = flags.get('suites') ?? env.KILN_BENCH_SUITES ?? 'matmul,norm';
  const suites = suitesRaw === 'all' ? SUITES : suitesRaw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of suites) if (!SUITES.includes(s)) throw new Error(`bench: unknown suite '${s}' (known: ${SUITES.join(', ')}, all)`);
  return {
    help: flags.has('help'),
    suites,
    quick,
    shapes,
    runs: Math.max(1, Math.round(num('runs', 'KILN_BENCH_RUNS', quick ? 3 : 7))),
    warmup: Math.round(num('warmup', undefined, 1)),
    budgetS: num('budget', undefined, quick ? 5 : 30),
    maxRunS: num('max-run', undefined, quick ? 5 : 20),
    peers,
    ceilings: !flags.has('no-ceilings'),
    tune: !flags.has('no-tune'),
    tuneMax: num('tune-max', undefined, 1024),
    out: flags.get('out'),
  };
}
