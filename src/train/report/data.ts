// What the run report is drawn from: the run directory's metrics.jsonl (one run, or the stages of one in
// subdirectories, as the demo's stage1/ and stage2/) and `report-data.json`, the held-out embeddings the
// end-of-run evaluation wrote (per modality, with each sample's scene attributes when the data is
// synthetic). Reading and writing here; drawing is in html.ts.

import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { data } from '../../public.js';
import type { Dataset } from '../dataset.js';
import type { EvalReport } from '../evaluate.js';

export const REPORT_DATA_FILE = 'report-data.json';
export const REPORT_FILE = 'report.html';

/** The held-out embeddings behind the report's heat maps and projections (`report-data.json`). */
export interface ReportData {
  readonly version: 1;
  /** The training step the embeddings were computed at (null: unknown). */
  readonly step: number | null;
  readonly samples: number;
  readonly dim: number;
  /** Unit-norm embeddings per modality, [samples, dim] row-major. */
  readonly embeddings: Readonly<Record<string, readonly number[]>>;
  /** Synthetic data only: each sample's value of every scene attribute, with the values' names. */
  readonly attributes?: Readonly<Record<string, { readonly values: readonly string[]; readonly of: readonly number[] }>>;
  /** Synthetic data only: the attributes each modality carries. */
  readonly carries?: Readonly<Record<string, readonly string[]>>;
}

/** One run's rows of metrics.jsonl, as written (training, evaluation and data-summary rows). */
export interface RunRows {
  readonly name: string;
  readonly dir: string;
  readonly rows: readonly Readonly<Record<string, unknown>>[];
}

/**
 * Samples kept in report-data.json (the first ones): enough for a projection to show the classes, and the
 * file stays small (256 × 6 modalities × 1,024 dimensions ≈ 15 MB for the largest ImageBind).
 */
export const REPORT_SAMPLES = 256;

/** Six significant digits: embeddings are float32 and a projection needs no more; keeps the file small. */
const round = (x: number): number => Number(x.toPrecision(6));

/**
 * The report data of an evaluation: its embeddings, and, for a synthetic dataset, the scene attributes of
 * the samples it embedded (the report colours projections and orders heat maps by them).
 */
export function reportData(r: EvalReport, dataset: Dataset | null, step: number | null): ReportData {
  const mods = Object.keys(r.embeddings);
  const dim = mods.length > 0 ? r.embeddings[mods[0]!]!.length / r.samples : 0;
  const samples = Math.min(r.samples, REPORT_SAMPLES);
  const embeddings = Object.fromEntries(mods.map((m) => [m, Array.from(r.embeddings[m]!.subarray(0, samples * dim), round)]));
  const base = { version: 1 as const, step, samples, dim, embeddings };
  if (!(dataset instanceof data.SyntheticDataset)) return base;
  const scenes = Array.from({ length: samples }, (_, i) => dataset.scene(i));
  const attributes = Object.fromEntries(
    (Object.keys(data.ATTRIBUTES) as data.Attribute[]).map((a) => [a, { values: [...data.ATTRIBUTES[a]], of: scenes.map((s) => s[a]) }]),
  );
  const carries = Object.fromEntries(mods.filter((m): m is data.SyntheticModality => m in data.CARRIES).map((m) => [m, [...data.CARRIES[m]]]));
  return { ...base, attributes, carries };
}

/** Writes `<dir>/report-data.json` (through a temporary name); resolves to its path. */
export async function writeReportData(dir: string, d: ReportData): Promise<string> {
  return writeAtomically(join(dir, REPORT_DATA_FILE), JSON.stringify(d));
}

export async function writeAtomically(file: string, text: string): Promise<string> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
  return file;
}

/** `<dir>/report-data.json`, checked; null when absent. */
export async function readReportData(dir: string): Promise<ReportData | null> {
  let text: string;
  try {
    text = await readFile(join(dir, REPORT_DATA_FILE), 'utf8');
  } catch {
    return null;
  }
  const d = JSON.parse(text) as ReportData;
  const bad = (why: string): Error => new Error(`${join(dir, REPORT_DATA_FILE)}: ${why}`);
  if (d.version !== 1) throw bad(`unknown version ${JSON.stringify(d.version)} (expected 1)`);
  if (!Number.isInteger(d.samples) || !Number.isInteger(d.dim) || typeof d.embeddings !== 'object') throw bad('expected samples, dim and embeddings');
  for (const [m, e] of Object.entries(d.embeddings)) if (!Array.isArray(e) || e.length !== d.samples * d.dim) throw bad(`embeddings.${m} has ${Array.isArray(e) ? e.length : 'no'} values, expected samples·dim = ${d.samples}·${d.dim}`);
  for (const [a, v] of Object.entries(d.attributes ?? {})) if (v.of.length !== d.samples) throw bad(`attributes.${a} has ${v.of.length} samples, expected ${d.samples}`);
  return d;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The rows of one metrics.jsonl (blank lines skipped; a malformed line is an error naming it). */
export async function readMetrics(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      const row: unknown = JSON.parse(line);
      if (!isObject(row)) throw new Error('not a JSON object');
      return [row];
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

const exists = async (file: string): Promise<boolean> => readFile(file).then(() => true, () => false);

/**
 * The runs of a directory: itself when it holds metrics.jsonl, else its subdirectories that do (the stages
 * of one run, in natural order: stage1, stage2, …, stage10).
 */
export async function readRuns(dir: string): Promise<RunRows[]> {
  if (await exists(join(dir, 'metrics.jsonl'))) return [{ name: '', dir, rows: await readMetrics(join(dir, 'metrics.jsonl')) }];
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    throw new Error(`report: cannot read the run directory ${dir} (${e instanceof Error ? e.message : String(e)})`);
  }
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const runs: RunRows[] = [];
  for (const n of names) if (await exists(join(dir, n, 'metrics.jsonl'))) runs.push({ name: n, dir: join(dir, n), rows: await readMetrics(join(dir, n, 'metrics.jsonl')) });
  if (runs.length === 0) throw new Error(`report: ${dir} holds no metrics.jsonl, nor does any directory in it`);
  return runs;
}
