// kiln.train.evaluate: held-out evaluation of a trained model — retrieval in both directions for modality
// pairs, zero-shot classification from text prompts, validation loss, intra-class consistency and the
// diagonal/off-diagonal contrast of a batch — each beside its chance level. Runs in eval mode under its
// own RNG stream (the caller's stream is restored). The metrics themselves are in retrieval.ts.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F, data, getRngState, init, manualSeed, noGrad, setRngState, tensor, tidy } from '../public.js';
import { DEFAULTS, resolveConfig } from './config.js';
import { type Dataset, collate } from './dataset.js';
import { ContrastiveLoss } from './loss.js';
import { type TrainModel, buildModel } from './model.js';
import { type RetrievalMetrics, classification, diagonalContrast, intraClass, retrievalMetrics } from './retrieval.js';

export interface EvaluateOptions {
  /** Pairs as [query, gallery]; each is scored in both directions. Default: every modality with vision. */
  readonly pairs?: readonly (readonly [string, string])[];
  /** Samples of the dataset to use (its first n; default all, at most 1024). */
  readonly samples?: number;
  /** Embedding batch size (default 64). */
  readonly batchSize?: number;
  /** Modalities to classify zero-shot from text prompts (synthetic datasets only; default every non-text one evaluated). */
  readonly zeroShot?: readonly string[];
  /** Samples in the batch behind validation loss, the similarity matrices and the diagonal contrast (default 32). */
  readonly batch?: number;
  /** Seed of the evaluation's own RNG stream (default 0x6576). */
  readonly seed?: number;
}

export interface DirectionResult extends RetrievalMetrics {
  readonly query: string;
  readonly gallery: string;
}

export interface PairResult {
  readonly a: string;
  readonly b: string;
  /** What a correct retrieval must share: the attributes both carry (synthetic), or 'index' (the paired sample). */
  readonly correctWhen: readonly string[] | 'index';
  readonly directions: readonly [DirectionResult, DirectionResult];
  /** Symmetric InfoNCE at the pair's temperature on the first `batch` samples. */
  readonly valLoss: number;
  readonly diagonal: number;
  readonly offDiagonal: number;
  /** The [batch, batch] cosine similarities of a's embeddings against b's (row-major), for heat maps. */
  readonly matrix: readonly number[];
}

export interface ZeroShotResult {
  readonly modality: string;
  /** The attributes whose tuple is the class. */
  readonly attributes: readonly string[];
  readonly classes: number;
  readonly templates: number;
  readonly accuracy: number;
  readonly chance: number;
}

export interface EvalReport {
  readonly samples: number;
  readonly pairs: readonly PairResult[];
  readonly zeroShot: readonly ZeroShotResult[];
  /** Per modality: mean cosine between samples of the same class (the attributes it carries) and of different ones. */
  readonly intraClass: Readonly<Record<string, { readonly same: number; readonly different: number }>>;
  /** Unit-norm embeddings per modality [samples, E], row-major, for projections. */
  readonly embeddings: Readonly<Record<string, Float32Array>>;
  /** Each sample's class per modality (the attributes it carries; synthetic only), for colouring projections. */
  readonly labels: Readonly<Record<string, Int32Array>>;
}

/**
 * Evaluates `model` on the first `samples` of `dataset` (as seen in epoch 0).
 * @example const r = await kiln.train.evaluate(model, await kiln.data.synthetic({ size: 256, split: 'heldout' }), { pairs: [['text', 'audio']] });
 */
export async function evaluate(model: TrainModel, dataset: Dataset, opts: EvaluateOptions = {}): Promise<EvalReport> {
  const n = Math.min(opts.samples ?? dataset.size, dataset.size, 1024);
  const known = Object.keys(dataset.inputs).filter((m) => m in model.inputs);
  const pairs = opts.pairs ?? known.filter((m) => m !== 'vision').map((m) => ['vision', m] as const);
  pairs.forEach(([a, b], i) => {
    for (const m of [a, b]) if (!known.includes(m)) throw new Error(`evaluate: pairs[${i}] names modality '${m}', which the model and dataset do not both have (${known.join(', ')})`);
  });
  const syn = dataset instanceof data.SyntheticDataset ? dataset : null;
  const zs = opts.zeroShot ?? (syn && known.includes('text') ? [...new Set(pairs.flat())].filter((m) => m !== 'text') : []);
  if (zs.length > 0 && !syn) throw new Error('evaluate: zeroShot needs a synthetic dataset (prompts come from its attributes)');
  const mods = [...new Set([...pairs.flat(), ...zs, ...(zs.length ? ['text'] : [])])];
  const batch = Math.min(opts.batch ?? 32, n);

  const saved = getRngState();
  manualSeed(opts.seed ?? 0x6576);
  model.module.eval();
  try {
    const emb = await embedAll(model, dataset, mods, n, opts.batchSize ?? 64);
    const dim = emb[mods[0]!]!.length / n;
    const scenes = syn ? Array.from({ length: n }, (_, i) => syn.scene(i)) : [];
    const labelsFor = (attrs: readonly data.Attribute[]): Int32Array => Int32Array.from(scenes, (s) => data.classOf(s, attrs));
    const pairResults: PairResult[] = [];
    for (const [a, b] of pairs) {
      const shared = syn ? data.sharedAttributes(a as data.SyntheticModality, b as data.SyntheticModality) : null;
      const la = shared ? labelsFor(shared) : Int32Array.from({ length: n }, (_, i) => i);
      const sim = await similarity(emb[a]!, emb[b]!, n, n, dim);
      const simT = transpose(sim, n, n);
      const m = await batchFigures(model, emb[a]!, emb[b]!, a, b, batch, dim);
      pairResults.push({
        a,
        b,
        correctWhen: shared ?? 'index',
        directions: [
          { query: a, gallery: b, ...retrievalMetrics(sim, n, n, la, la) },
          { query: b, gallery: a, ...retrievalMetrics(simT, n, n, la, la) },
        ],
        ...m,
      });
    }
    const zeroShot: ZeroShotResult[] = [];
    for (const m of zs) zeroShot.push(await zeroShotOne(model, syn!, m as data.SyntheticModality, emb[m]!, n, dim, labelsFor));
    const intra: Record<string, { same: number; different: number }> = {};
    const labels: Record<string, Int32Array> = {};
    if (syn)
      for (const m of mods) {
        labels[m] = labelsFor(data.CARRIES[m as data.SyntheticModality]);
        intra[m] = intraClass(await similarity(emb[m]!, emb[m]!, n, n, dim), n, labels[m]);
      }
    return { samples: n, pairs: pairResults, zeroShot, intraClass: intra, embeddings: emb, labels };
  } finally {
    model.module.train();
    setRngState(saved);
  }
}

/** Unit-norm embeddings of the first n samples per modality, batch by batch, read back as [n·E]. */
async function embedAll(model: TrainModel, dataset: Dataset, mods: readonly string[], n: number, bs: number): Promise<Record<string, Float32Array>> {
  const parts: Record<string, Float32Array[]> = Object.fromEntries(mods.map((m) => [m, []]));
  for (let start = 0; start < n; start += bs) {
    const samples = Array.from({ length: Math.min(bs, n - start) }, (_, i) => dataset.get(start + i, 0));
    for (const m of mods) {
      const x = collate(samples, m, dataset.inputs[m]!);
      const e = noGrad(() => model.embed(m, x));
      x.dispose();
      parts[m]!.push(Float32Array.from(await e.data()));
      e.dispose();
    }
  }
  return Object.fromEntries(mods.map((m) => [m, concat(parts[m]!)]));
}

function concat(xs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/** Cosine similarities [nq, ng] of two sets of embeddings (renormalised on the GPU, one matmul). */
async function similarity(q: Float32Array, g: Float32Array, nq: number, ng: number, dim: number): Promise<Float32Array> {
  const s = tidy(() => F.normalize(tensor(q, { shape: [nq, dim] }), { dim: -1 }).matmul(F.normalize(tensor(g, { shape: [ng, dim] }), { dim: -1 }).t()));
  const out = Float32Array.from(await s.data());
  s.dispose();
  return out;
}

function transpose(x: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j]!;
  return out;
}

/** Validation loss, similarity matrix and diagonal contrast on the first `batch` samples of a pair. */
async function batchFigures(model: TrainModel, ea: Float32Array, eb: Float32Array, a: string, b: string, batch: number, dim: number): Promise<Pick<PairResult, 'valLoss' | 'diagonal' | 'offDiagonal' | 'matrix'>> {
  const matrix = await similarity(ea.subarray(0, batch * dim), eb.subarray(0, batch * dim), batch, batch, dim);
  const loss = new ContrastiveLoss(DEFAULTS.loss, [{ a, b, weight: 1 }], model);
  const v = tidy(() => noGrad(() => loss.forward({ [a]: tensor(ea.slice(0, batch * dim), { shape: [batch, dim] }), [b]: tensor(eb.slice(0, batch * dim), { shape: [batch, dim] }) }).total));
  const valLoss = await v.item();
  v.dispose();
  return { valLoss, ...diagonalContrast(matrix, batch), matrix: Array.from(matrix) };
}

/**
 * Zero-shot classification of modality m from text: one class per tuple of the attributes m and text both
 * carry; each class's prompts are every caption template with the class's words and every filler of the
 * text's other attributes; class embedding = mean of the normalised prompt embeddings, renormalised.
 */
async function zeroShotOne(model: TrainModel, syn: data.SyntheticDataset, m: data.SyntheticModality, emb: Float32Array, n: number, dim: number, labelsFor: (a: readonly data.Attribute[]) => Int32Array): Promise<ZeroShotResult> {
  const attrs = data.sharedAttributes(m, 'text');
  const rest = data.CARRIES.text.filter((a) => !attrs.includes(a));
  const classes = data.classCount(attrs);
  const fillers = Array.from({ length: data.classCount(rest) }, (_, i) => data.classWords(i, rest));
  const prompts = Array.from({ length: classes }, (_, c) => data.CAPTION_TEMPLATES.flatMap((t) => fillers.map((f) => data.fillTemplate(t, { ...f, ...data.classWords(c, attrs) }))));
  const per = prompts[0]!.length;
  const spec = syn.inputs['text']!;
  const ids = syn.tokenize(prompts.flat());
  const classEmb = new Float32Array(classes * dim);
  const bs = 256;
  for (let start = 0; start < classes * per; start += bs) {
    const count = Math.min(bs, classes * per - start);
    const x = tensor(ids.slice(start * spec.shape[0]!, (start + count) * spec.shape[0]!), { shape: [count, spec.shape[0]!] });
    const e = noGrad(() => model.embed('text', x));
    x.dispose();
    const d = await e.data();
    e.dispose();
    for (let i = 0; i < count; i++) {
      const c = Math.floor((start + i) / per);
      for (let k = 0; k < dim; k++) classEmb[c * dim + k]! += d[i * dim + k]! / per;
    }
  }
  const sim = await similarity(emb, classEmb, n, classes, dim); // renormalises the mean
  return { modality: m, attributes: attrs, classes, templates: per, ...classification(sim, n, classes, labelsFor(attrs)) };
}

/**
 * The model of a Kiln checkpoint directory, built from the architecture it records and loaded with its
 * weights, ready for evaluate(). Dispose `model.module` when done.
 * @example const model = await kiln.train.loadTrainedModel('runs/demo/checkpoints/step-400');
 */
export async function loadTrainedModel(dir: string): Promise<TrainModel> {
  let arch: unknown;
  try {
    arch = (JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { architecture?: unknown }).architecture;
  } catch (e) {
    throw new Error(`loadTrainedModel: ${dir} is not a Kiln checkpoint: cannot read state.json (${e instanceof Error ? e.message : String(e)})`);
  }
  const family = (arch as { family?: unknown } | undefined)?.family;
  if (family !== 'imagebind' && family !== 'clip') throw new Error(`loadTrainedModel: ${dir}/state.json records no ImageBind or CLIP architecture (family ${JSON.stringify(family)})`);
  await init();
  const tmp = await mkdtemp(join(tmpdir(), 'kiln-eval-'));
  try {
    const file = join(tmp, 'model.json');
    await writeFile(file, JSON.stringify(arch));
    const cfg = await resolveConfig({ model: { kind: family, config: file, weights: dir }, steps: 1, out: tmp });
    return await buildModel(cfg);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}


/** Recall@k of every direction of a report, keyed 'query:gallery' (the shape of a metrics row's `recall`). */
export function recallRow(r: EvalReport): Record<string, Record<string, number>> {
  return Object.fromEntries(r.pairs.flatMap((p) => p.directions.map((d) => [`${d.query}:${d.gallery}`, { ...d.recall }])));
}

const fix3 = (x: number): string => x.toFixed(3);

/**
 * A report as lines of text with the chance level in brackets beside every figure; `tag` may label a pair
 * (the demo marks the emergent ones). Zero-shot classification counts as emergent when given a tag function.
 */
export function formatEval(r: EvalReport, tag: (a: string, b: string) => string = () => ''): string[] {
  const lines = [`held-out retrieval on ${r.samples} samples (chance level in brackets); correct = same attributes both modalities carry`];
  for (const p of r.pairs)
    for (const d of p.directions)
      lines.push(
        `  ${`${d.query}→${d.gallery}`.padEnd(16)} R@1 ${fix3(d.recall['1']!)} [${fix3(d.chance.recall['1']!)}]  R@5 ${fix3(d.recall['5']!)} [${fix3(d.chance.recall['5']!)}]  ` +
          `R@10 ${fix3(d.recall['10']!)} [${fix3(d.chance.recall['10']!)}]  median rank ${d.medianRank} [${d.chance.medianRank.toFixed(1)}]  ` +
          `shared: ${p.correctWhen === 'index' ? 'index' : p.correctWhen.join('+')}${tag(p.a, p.b) ? `  ${tag(p.a, p.b)}` : ''}`,
      );
  for (const p of r.pairs) lines.push(`  ${p.a}–${p.b} batch of ${Math.sqrt(p.matrix.length)}: validation loss ${p.valLoss.toFixed(3)}, mean cosine diagonal ${fix3(p.diagonal)} vs off-diagonal ${fix3(p.offDiagonal)}`);
  for (const z of r.zeroShot)
    lines.push(`zero-shot ${z.modality} classification from text prompts (${z.classes} classes of ${z.attributes.join('+')}, ${z.templates} prompts each): accuracy ${fix3(z.accuracy)} [${fix3(z.chance)}]${tag('text', z.modality) ? `  ${tag('text', z.modality)}` : ''}`);
  for (const [m, c] of Object.entries(r.intraClass)) lines.push(`  ${m} intra-class consistency: mean cosine same class ${fix3(c.same)} vs different ${fix3(c.different)}`);
  return lines;
}
