// kiln.train.fit: the training loop, read top to bottom — config → data → model → optimizer → schedule →
// loop (evaluate / checkpoint → forward / backward → clip → step → log). Features are the small functions
// below the loop; the loop itself only calls them.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Tensor, getRngState, init, kernelChoices, manualSeed, noGrad, optim, setRngState, tidy, zeros } from '../public.js';
import { accumulateForwardBackward } from './accumulate.js';
import { type CheckpointState, type LoadedCheckpoint, checkCompatible, listCheckpoints, readCheckpoint, removeTemporaries, saveCheckpoint, truncateMetrics } from './checkpoint.js';
import { ConfigError, type PairSpec, type TrainConfig, type TrainConfigInput, resolveConfig } from './config.js';
import { type BatchLoader, type Dataset, Loader, RandomDataset } from './dataset.js';
import { streamData } from './data/build.js';
import type { StreamLoader } from './data/stream.js';
import { type EvaluateOptions, evaluate as evaluateRetrieval, recallRow } from './evaluate.js';
import { killPoint } from './faults.js';
import { ContrastiveLoss, type LossOutput, pairName } from './loss.js';
import { type MetricsRow, Progress, appendMetrics } from './metrics.js';
import { type TrainModel, buildModel } from './model.js';
import { StepMonitor, type Tower } from './monitor.js';
import { exportOptimizer, importOptimizer } from './optimizer-state.js';
import { resumeFromOpenClip } from './openclip.js';
import { type TrainGroup, paramGroups } from './params.js';
import { makeSchedule } from './schedule.js';
import { StagePlan } from './stages.js';
import { imageCaptionSplits } from './captions.js';
import { applyLoraConfig, exportLora } from './lora-train.js';
import { reportData, writeReport, writeReportData } from './report/index.js';
import { type StepPrecision, stepPrecision } from './precision.js';
import { syntheticSplits } from './synthetic-data.js';

export interface StepInfo {
  readonly step: number;
  readonly epoch: number;
  /** Present on logged steps (the only steps whose values were read back). */
  readonly metrics?: MetricsRow;
}

export interface EvalRow {
  readonly step: number;
  readonly eval: { readonly loss: number; readonly losses: Readonly<Record<string, number>> };
  /** With FitOptions.retrieval: Recall@k per direction ('text:audio' → { '1': …, '5': …, '10': … }). */
  readonly recall?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface FitCallbacks {
  /** After every optimizer step; `metrics` only on logged steps. */
  onStep?(info: StepInfo): void | Promise<void>;
  /** After each evaluation (every `evalEvery` steps, or each epoch). */
  onEval?(row: EvalRow): void | Promise<void>;
  /** After each checkpoint is complete on disk. */
  onCheckpoint?(info: { readonly step: number; readonly dir: string }): void | Promise<void>;
}

export interface FitOptions {
  readonly callbacks?: FitCallbacks;
  /** `--set key=value` overrides applied over the config. */
  readonly sets?: readonly string[];
  /** A checkpoint directory to resume from, or 'auto' for the newest complete one under `out` (none: start fresh). */
  readonly resume?: string | null;
  /** Train on this dataset instead of the one `data` describes. */
  readonly dataset?: Dataset;
  /** Evaluate on this held-out dataset (its first `batchSize` samples); default: the held-out part of `data`. */
  readonly evalDataset?: Dataset;
  /** Also score retrieval on the held-out set at each evaluation (kiln.train.evaluate), recall in the row. */
  readonly retrieval?: EvaluateOptions;
  /** Where progress goes (default: nowhere); with `tty`, a bar redrawn in place. */
  readonly print?: (line: string) => void;
  readonly tty?: { write: (s: string) => void; columns: number } | null;
}

export interface FitSummary {
  readonly out: string;
  readonly steps: number;
  readonly epoch: number;
  /** The total loss of the last logged step. */
  readonly loss: number | null;
  readonly skipped: number;
  readonly checkpoint: string;
  /** A LoRA run's export directory (adapter.safetensors), else null. */
  readonly exported: string | null;
  readonly resumedFrom: string | null;
  readonly seconds: number;
}

/** The run stopped on a runtime condition (too many non-finite steps); the CLI exits with status 1. */
export class TrainingStopped extends Error {
  override readonly name = 'TrainingStopped';
}

/**
 * Trains the configured model; resolves to a summary when the last step is checkpointed.
 * @example const summary = await kiln.train.fit('run.yaml', { resume: 'auto', callbacks: { onStep: (s) => s.metrics && console.log(s.metrics.loss) } });
 */
export async function fit(input: TrainConfigInput | string, opts: FitOptions = {}): Promise<FitSummary> {
  // A dataset passed in replaces `data`: its size (checked by the Loader) bounds the batch, not data.size.
  const cfg = await resolveConfig(input, opts.sets, { dataset: opts.dataset !== undefined });
  await init();
  const t0 = performance.now();
  const cb = opts.callbacks ?? {};

  // ---- model (seeded: random init is part of the run) -------------------------------------------------------
  manualSeed(cfg.seed);
  const model = await buildModel(cfg);
  const pairs = resolvePairs(cfg, model);
  const modalities = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];

  const adapters = applyLoraConfig(cfg, model); // LoRA: only the adapters train

  // ---- data ---------------------------------------------------------------------------------------------------
  const made = await makeDatasets(cfg, model, modalities);
  const heldOut = opts.evalDataset ?? (opts.dataset ? null : made.heldOut);
  const stream = opts.dataset ? null : made.stream; // file-backed data: decoded on workers, streamed
  const loader: BatchLoader = stream ?? new Loader(opts.dataset ?? made.train!, cfg.batchSize, cfg.seed, modalities);
  const evalEvery = cfg.evalEvery === 'epoch' ? loader.stepsPerEpoch : cfg.evalEvery;
  if (evalEvery > 0 && (!heldOut || heldOut.size < cfg.batchSize))
    throw new ConfigError(`evalEvery: ${cfg.evalEvery} needs a held-out set: pass evalDataset with your dataset, or set data.heldOut (at least batchSize, ${cfg.batchSize}) for image–caption data`);
  const totalSteps = cfg.steps ?? cfg.epochs! * loader.stepsPerEpoch;

  // ---- loss, optimizer, schedule ------------------------------------------------------------------------------
  const loss = new ContrastiveLoss(cfg.loss, pairs, model);
  const named: [string, Tensor][] = [...model.module.namedParameters(), ...model.extraParams, ...loss.params];
  const groups = paramGroups(named, cfg.optimizer);
  const plan = new StagePlan(cfg, model, named); // locks and stages: which parameters train, at which lr
  const lrs = groups.map(() => zeros([1])); // each group's learning rate, a GPU scalar AdamW reads
  const optimizer = new optim.AdamW(
    groups.map((g, i) => ({ params: g.params.map(([, t]) => t), lr: lrs[i]!, weightDecay: g.weightDecay })),
    { betas: cfg.optimizer.betas, eps: cfg.optimizer.eps },
  );
  const foundInf = zeros([]); // raised on the GPU by a non-finite loss or gradient: AdamW's step then changes nothing
  optimizer.foundInf = foundInf;
  const precision = stepPrecision(cfg); // f16-mixed: autocast and a loss scaler
  const lrAt = makeSchedule(cfg.schedule, totalSteps, loader.stepsPerEpoch);
  const monitor = new StepMonitor(cfg.logEvery, pairs.map(pairName), towers(groups, model, modalities), cfg.clipGradNorm);
  const run = { step: 0, nonFiniteInARow: 0, skipped: 0, lastLoss: null as number | null, lastCheckpoint: '' };

  try {
    // ---- resume -------------------------------------------------------------------------------------------------
    const metricsFile = join(cfg.out, 'metrics.jsonl');
    const resumeDir = await prepareOut(cfg, opts.resume ?? null, metricsFile);
    if (resumeDir !== null && /\.pth?$/.test(resumeDir)) {
      if (cfg.model.kind !== 'clip') throw new ConfigError(`resume: ${resumeDir} is a PyTorch file; only CLIP runs resume from OpenCLIP checkpoints`);
      Object.assign(run, await resumeFromOpenClip(resumeDir, { module: model.module, optimizer, names: optimizedNames(groups), loader }));
      await truncateMetrics(metricsFile, run.step);
    } else if (resumeDir !== null) {
      const ck = await readCheckpoint(resumeDir);
      checkCompatible(ck, model.architecture, kernelChoices());
      Object.assign(run, restore(ck, { model, loss, optimizer, monitor, loader, groups, precision }));
      await truncateMetrics(metricsFile, run.step);
    }

    // ---- the loop ---------------------------------------------------------------------------------------------
    const progress = opts.print ? new Progress(totalSteps, opts.print, opts.tty ?? null, run.step) : null;
    const ctx = { cfg, model, loss, optimizer, monitor, loader, groups, pairs, metricsFile, run, cb, progress, heldOut, modalities, precision, retrieval: opts.retrieval ?? null };
    let interval = { t: performance.now(), steps: 0, dataWait: 0 };
    const startStep = run.step; // evaluation and checkpoint at this step happened before it was saved
    model.module.train();
    while (run.step < totalSteps) {
      if (due(run.step, evalEvery) && run.step > startStep) await evaluate(ctx);
      if (due(run.step, cfg.checkpointEvery) && run.step > startStep) await checkpoint(ctx);

      plan.apply(run.step);
      const lrNow = groups.map((g) => lrAt(run.step, plan.baseLr(g, run.step)));
      lrs.forEach((t, i) => t.fill_(lrNow[i]!));
      const waitFrom = performance.now();
      const { inputs, epoch } = await loader.next();
      interval.dataWait += (performance.now() - waitFrom) / 1000;
      foundInf.zero_(); // raised below (or by a loss scaler) when this step must change nothing
      tidy(() => {
        const scale = (l: Tensor): Tensor => precision.scale(l);
        const out = precision.run(() => (cfg.accumulate > 1 ? accumulateForwardBackward({ ...ctx, accumulate: cfg.accumulate, frozen: (m) => plan.frozen(m), scale }, inputs) : forwardBackward(ctx, inputs)));
        killPoint('mid-step');
        precision.unscale(optimizer); // f16-mixed: once per optimizer step, before norms and clipping
        monitor.afterBackward(out.total, out.perPair, foundInf); // norms, clip, non-finite guard, ring row
        precision.step(optimizer); // AdamW's step (and the loss scale's update)
        optimizer.zeroGrad();
        model.afterStep();
      });
      for (const t of Object.values(inputs)) t.dispose();
      run.step++;
      interval.steps++;

      let metrics: MetricsRow | undefined;
      if (due(run.step, cfg.logEvery) || run.step === totalSteps) {
        metrics = await log(ctx, epoch, lrNow, (interval.steps * cfg.batchSize) / ((performance.now() - interval.t) / 1000), (performance.now() - t0) / 1000, interval.dataWait);
        interval = { t: performance.now(), steps: 0, dataWait: 0 };
      }
      await cb.onStep?.({ step: run.step, epoch, ...(metrics ? { metrics } : {}) });
    }
    if (due(run.step, evalEvery) && run.step > startStep) await evaluate(ctx);
    await checkpoint(ctx);
    if (stream) await reportDataCounts(stream, metricsFile, run.step, opts.print);
    const exported = adapters ? await exportLora(cfg, model) : null;
    await writeReport(cfg.out).catch((e: unknown) => process.emitWarning(`kiln.train.fit: the run report was not written: ${e instanceof Error ? e.message : String(e)}`));
    return { out: cfg.out, exported, steps: run.step, epoch: loader.position().epoch, loss: run.lastLoss, skipped: run.skipped, checkpoint: run.lastCheckpoint, resumedFrom: resumeDir, seconds: (performance.now() - t0) / 1000 };
  } finally {
    // The run's GPU state goes with it; the trained weights are in the last checkpoint.
    optimizer.dispose();
    precision.dispose();
    for (const t of [...lrs, foundInf, monitor.ring, ...model.extraParams.values(), ...loss.params.values()]) t.dispose();
    model.module.dispose();
    await stream?.close(); // the decode workers
  }
}

// ---- the pieces the loop calls ------------------------------------------------------------------------------

type Ctx = {
  readonly cfg: TrainConfig;
  readonly model: TrainModel;
  readonly loss: ContrastiveLoss;
  readonly optimizer: optim.AdamW;
  readonly monitor: StepMonitor;
  readonly loader: BatchLoader;
  readonly groups: readonly TrainGroup[];
  readonly pairs: readonly PairSpec[];
  readonly metricsFile: string;
  readonly run: { step: number; nonFiniteInARow: number; skipped: number; lastLoss: number | null; lastCheckpoint: string };
  readonly cb: FitCallbacks;
  readonly progress: Progress | null;
  readonly heldOut: Dataset | null;
  readonly modalities: readonly string[];
  readonly retrieval: EvaluateOptions | null;
  readonly precision: StepPrecision;
};

const due = (step: number, every: number): boolean => every > 0 && step % every === 0;

/** Embeds each modality of the batch, computes the pairs' losses and backpropagates their weighted total. */
function forwardBackward(c: Pick<Ctx, 'model' | 'loss' | 'modalities' | 'precision'>, inputs: Readonly<Record<string, Tensor>>): LossOutput {
  const emb = Object.fromEntries(c.modalities.map((m) => [m, c.model.embed(m, inputs[m]!)]));
  const out = c.loss.forward(emb);
  if (out.total.requiresGrad) c.precision.scale(out.total).backward(); // a stage may freeze everything the pairs reach
  return out;
}

function resolvePairs(cfg: TrainConfig, model: TrainModel): readonly PairSpec[] {
  const pairs = cfg.pairs.length > 0 ? cfg.pairs : model.defaultPairs;
  const known = Object.keys(model.inputs);
  pairs.forEach((p, i) => {
    for (const side of ['a', 'b'] as const)
      if (!known.includes(p[side])) throw new ConfigError(`pairs[${i}].${side}: unknown modality ${JSON.stringify(p[side])} for ${cfg.model.kind} (known: ${known.join(', ')})`);
  });
  return pairs;
}

/**
 * The training set `data` describes and a held-out set for evaluation. Random data: one RandomDataset of
 * size + batchSize samples (the same class prototypes), the first `size` for training and the rest held
 * out. Image–caption data: the file's last `heldOut` rows are held out.
 */
async function makeDatasets(cfg: TrainConfig, model: TrainModel, modalities: readonly string[]): Promise<{ train?: Dataset; heldOut: Dataset | null; stream?: StreamLoader }> {
  const d = cfg.data;
  switch (d.kind) {
    case 'random': {
      const inputs = Object.fromEntries(modalities.map((m) => [m, model.inputs[m]!]));
      const all = new RandomDataset(inputs, { size: d.size + cfg.batchSize, classes: d.classes, noise: d.noise, seed: cfg.seed });
      return { train: slice(all, 0, d.size), heldOut: slice(all, d.size, cfg.batchSize) };
    }
    case 'image-caption':
      return imageCaptionSplits(d, model.inputs);
    case 'csv':
    case 'jsonl':
    case 'coco':
    case 'folders':
    case 'webdataset': {
      const { loader, heldOut } = await streamData(d, { seed: cfg.seed, batchSize: cfg.batchSize, inputs: model.inputs, modalities });
      return { stream: loader, heldOut };
    }
    case 'synthetic':
      return syntheticSplits(d, model.inputs, modalities, cfg.seed);
    default:
      return d satisfies never;
  }
}

/** Samples [start, start + size) of `d` as a dataset of their own. */
function slice(d: Dataset, start: number, size: number): Dataset {
  return { size, inputs: d.inputs, get: (i, e) => d.get(start + i, e) };
}

/**
 * Parameters per tower (modality), for per-tower gradient norms; SigLIP's biases form the 'loss' tower.
 * Towers of modalities no pair uses get no gradient and are left out.
 */
function towers(groups: readonly TrainGroup[], model: TrainModel, modalities: readonly string[]): Tower[] {
  const unused = new Set(Object.keys(model.inputs).filter((m) => !modalities.includes(m)));
  const by = new Map<string, Tensor[]>();
  for (const g of groups)
    for (const [name, t] of g.params) {
      const tower = name.startsWith('loss.') ? 'loss' : model.towerOf(name);
      if (!unused.has(tower)) by.set(tower, [...(by.get(tower) ?? []), t]);
    }
  return [...by].map(([name, params]) => ({ name, params }));
}

/** Creates `out`; returns the checkpoint to resume from, or null for a fresh start (metrics.jsonl emptied). */
async function prepareOut(cfg: TrainConfig, resume: string | null, metricsFile: string): Promise<string | null> {
  await mkdir(cfg.out, { recursive: true });
  await removeTemporaries(cfg.out);
  const existing = await listCheckpoints(cfg.out);
  if (resume === null && existing.length > 0)
    throw new ConfigError(`out: ${cfg.out} already holds checkpoints (newest: step ${existing.at(-1)!.step}); resume with --resume auto, or choose another --out`);
  const dir = resume === 'auto' ? (existing.at(-1)?.dir ?? null) : resume;
  if (dir === null) await writeFile(metricsFile, '');
  return dir;
}

/** Puts a verified checkpoint's state into the freshly built run. */
function restore(ck: LoadedCheckpoint, t: Pick<Ctx, 'model' | 'loss' | 'optimizer' | 'monitor' | 'loader' | 'groups' | 'precision'>): Partial<Ctx['run']> {
  const s = ck.state;
  t.model.module.loadStateDict(ck.tensors['model.safetensors']);
  const trainer = ck.tensors['trainer.safetensors'];
  noGrad(() => {
    for (const [name, p] of [...t.model.extraParams, ...t.loss.params]) {
      const v = trainer.get(name);
      if (!v) throw new Error(`checkpoint ${ck.dir}: trainer.safetensors has no '${name}' (another loss or logit-scale setup?)`);
      p.copy_(v);
    }
    const ring = trainer.get('ring');
    if (!ring || ring.numel() !== t.monitor.ring.numel()) throw new Error(`checkpoint ${ck.dir}: its metrics ring does not match this run's logEvery or pairs`);
    t.monitor.ring.copy_(ring.reshape(t.monitor.ring.shape));
  });
  t.monitor.fill = s.trainer.ringFill;
  t.precision.restore(trainer);
  importOptimizer(t.optimizer, ck.tensors['optimizer.safetensors'], s.optimizer, optimizedNames(t.groups), `checkpoint ${ck.dir}`);
  t.loader.restore(s.data);
  setRngState(s.rng);
  return { step: s.step, nonFiniteInARow: s.trainer.nonFiniteInARow, skipped: s.trainer.skipped };
}

/** The optimizer's parameters by name, in its state-dict index order (group by group). */
const optimizedNames = (groups: readonly TrainGroup[]): string[] => groups.flatMap((g) => g.params.map(([n]) => n));

/** Writes `<out>/checkpoints/step-<N>/` with everything exact resume needs. */
async function checkpoint(c: Ctx): Promise<void> {
  c.model.syncBuffers();
  const opt = exportOptimizer(c.optimizer, c.groups.map((g) => g.lr), optimizedNames(c.groups));
  const state: CheckpointState = {
    step: c.run.step,
    epoch: c.loader.position().epoch,
    data: c.loader.position(),
    rng: getRngState(),
    lrs: Object.fromEntries(c.groups.map((g) => [g.name, g.lr])),
    schedule: c.cfg.schedule,
    architecture: c.model.architecture,
    kernels: kernelChoices(),
    optimizer: opt.json,
    trainer: { nonFiniteInARow: c.run.nonFiniteInARow, skipped: c.run.skipped, ringFill: c.monitor.fill },
  };
  const trainer = new Map<string, Tensor>([...c.model.extraParams, ...c.loss.params, ['ring', c.monitor.ring], ...c.precision.tensors()]);
  const dir = await saveCheckpoint(c.cfg.out, state, { 'model.safetensors': c.model.module.stateDict(), 'optimizer.safetensors': opt.tensors, 'trainer.safetensors': trainer }, c.cfg.keepLast);
  c.run.lastCheckpoint = dir;
  await c.cb.onCheckpoint?.({ step: c.run.step, dir });
}

/** Reads the ring once, counts non-finite steps, appends the metrics row and updates the progress display. */
async function log(c: Ctx, epoch: number, lrNow: readonly number[], samplesPerSec: number, elapsed: number, dataWait: number): Promise<MetricsRow> {
  const rows = await c.monitor.read();
  for (const [i, r] of rows.entries()) {
    if (r['nonFinite']! > 0) c.run.skipped++;
    // Under a loss scaler, overflowing gradients are its business (it backs off): only a non-finite loss counts.
    const diverged = c.precision.scaler ? !Number.isFinite(r['loss']!) : r['nonFinite']! > 0;
    c.run.nonFiniteInARow = diverged ? c.run.nonFiniteInARow + 1 : 0;
    if (c.run.nonFiniteInARow >= c.cfg.maxNonFiniteInARow) {
      const at = c.run.step - rows.length + i + 1;
      const last = (await listCheckpoints(c.cfg.out)).at(-1);
      throw new TrainingStopped(
        `stopped at step ${at}: ${c.run.nonFiniteInARow} steps in a row had a non-finite loss or gradient (maxNonFiniteInARow ${c.cfg.maxNonFiniteInARow}); ` +
          (last ? `the last good checkpoint is ${last.dir}` : 'no checkpoint was written yet'),
      );
    }
  }
  const last = rows.at(-1)!;
  const pick = (prefix: string): Record<string, number> => Object.fromEntries(Object.entries(last).flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v]] : [])));
  const row: MetricsRow = {
    step: c.run.step,
    epoch,
    loss: last['loss']!,
    losses: pick('loss:'),
    lr: Object.fromEntries(c.groups.map((g, i) => [g.name, lrNow[i]!])),
    gradNorm: last['gradNorm']!,
    gradNorms: pick('gradNorm:'),
    skipped: c.run.skipped,
    samplesPerSec,
    elapsed,
    dataWait,
  };
  c.run.lastLoss = row.loss;
  await appendMetrics(c.metricsFile, row);
  c.progress?.update(row);
  return row;
}

/**
 * Validation loss on the first batch of the held-out set (as seen in epoch 0), in eval mode, under its own
 * RNG stream: the training stream is saved and restored around it.
 */
async function evaluate(c: Ctx): Promise<void> {
  const saved = getRngState();
  manualSeed(c.cfg.seed + 0x6576);
  c.model.module.eval();
  const b = c.cfg.batchSize;
  const held = new Loader(slice(c.heldOut!, 0, b), b, c.cfg.seed, c.modalities);
  const { inputs } = held.next();
  const values = tidy(() =>
    noGrad(() => {
      const emb = Object.fromEntries(c.modalities.map((m) => [m, c.model.embed(m, inputs[m]!)]));
      const out = c.loss.forward(emb);
      return [out.total, ...out.perPair];
    }),
  );
  const data = await Promise.all(values.map((v) => v.item()));
  for (const t of [...values, ...Object.values(inputs)]) t.dispose();
  const report = c.retrieval ? await evaluateRetrieval(c.model, c.heldOut!, c.retrieval) : null;
  if (report) await writeReportData(c.cfg.out, reportData(report, c.heldOut, c.run.step)); // for the run report's heat maps and projections
  const recall = report ? recallRow(report) : null;
  c.model.module.train();
  setRngState(saved);
  const row: EvalRow = { step: c.run.step, eval: { loss: data[0]!, losses: Object.fromEntries(c.pairs.map((p, i) => [pairName(p), data[i + 1]!])) }, ...(recall ? { recall } : {}) };
  await appendMetrics(c.metricsFile, row);
  await c.cb.onEval?.(row);
}

/** File-backed data's counts at the end of the run: printed, and one `{ step, data }` row in metrics.jsonl. */
async function reportDataCounts(stream: StreamLoader, metricsFile: string, step: number, print?: (line: string) => void): Promise<void> {
  const data = stream.counts();
  await appendMetrics(metricsFile, { step, data });
  const list = (m: Readonly<Record<string, number>>): string => Object.entries(m).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  print?.(`data: read ${data.read}; skipped ${list(data.skipped)}; filtered ${list(data.filtered)}`);
}
