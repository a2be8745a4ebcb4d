// A small run for the report tests, without a GPU: two stages of metrics rows (training, evaluation with
// recall, data wait, a data summary) and synthetic-style held-out embeddings of three modalities whose
// samples carry scene attributes — built from a fixed seed so every test sees the same numbers.
import type * as kiln from '../../src/node.js';

/** A deterministic uniform [0, 1) stream (splitmix32). */
export function stream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
  };
}

type Row = Record<string, unknown>;

function stage(pairs: readonly string[], towers: readonly string[], steps: number, directions: readonly string[], rnd: () => number): Row[] {
  const rows: Row[] = [];
  for (let step = 2; step <= steps; step += 2) {
    const losses = Object.fromEntries(pairs.map((p, i) => [p, 3 * Math.exp(-step / 10) + 0.2 * i + 0.05 * rnd()]));
    rows.push({
      step,
      epoch: 0,
      loss: Object.values(losses).reduce((a, b) => a + b, 0),
      losses,
      lr: { default: 1e-3 * Math.min(1, step / 4), 'default.no_decay': 1e-3 * Math.min(1, step / 4) },
      gradNorm: 5 * Math.exp(-step / 8) + 0.1,
      gradNorms: Object.fromEntries(towers.map((t, i) => [t, (1 + i) * Math.exp(-step / 8) + 0.05])),
      skipped: 0,
      samplesPerSec: 100 + rnd(),
      elapsed: step * 0.5,
      dataWait: 0.01 + 0.02 * rnd(),
    });
    if (step % 4 === 0) rows.push({ step, eval: { loss: rows.at(-1)!['loss'], losses }, recall: Object.fromEntries(directions.map((d) => [d, { '1': Math.min(1, step / 20), '5': Math.min(1, step / 10), '10': 1 }])) });
  }
  rows.push({ step: steps, data: { read: steps * 8, skipped: { 'unreadable image': 2 }, filtered: { 'caption too long': 1 } } });
  return rows;
}

/** Two stages: vision–text, then audio against vision; text and audio never trained together. */
export function fixtureRuns(): kiln.train.RunRows[] {
  const rnd = stream(7);
  return [
    { name: 'stage1', dir: 'stage1', rows: stage(['vision-text'], ['vision', 'text'], 12, ['vision:text', 'text:vision'], rnd) },
    { name: 'stage2', dir: 'stage2', rows: stage(['vision-audio'], ['vision', 'audio'], 8, ['vision:audio', 'audio:vision'], rnd) },
  ];
}

/** Held-out embeddings: each sample's unit vector = its class direction (shape, colour) plus noise. */
export function fixtureData(samples = 40, dim = 8): kiln.train.ReportData {
  const rnd = stream(11);
  const shape = Array.from({ length: samples }, () => Math.floor(rnd() * 4));
  const colour = Array.from({ length: samples }, () => Math.floor(rnd() * 4));
  const proto = Array.from({ length: 16 }, () => Array.from({ length: dim }, () => rnd() * 2 - 1));
  const embed = (noise: number): number[] =>
    Array.from({ length: samples }).flatMap((_, i) => {
      const v = proto[shape[i]! * 4 + colour[i]!]!.map((x) => x + noise * (rnd() * 2 - 1));
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    });
  return {
    version: 1,
    step: 20,
    samples,
    dim,
    embeddings: { vision: embed(0.2), text: embed(0.3), audio: embed(0.6) },
    attributes: { shape: { values: ['circle', 'square', 'triangle', 'cross'], of: shape }, colour: { values: ['red', 'green', 'blue', 'yellow'], of: colour } },
    carries: { vision: ['shape', 'colour'], text: ['shape', 'colour'], audio: ['shape', 'colour'] },
  };
}

/** The charts a full report draws (data-chart ids). */
export const ALL_CHARTS = ['loss', 'lr', 'grad-norm', 'recall', 'data-wait', 'similarity-trained', 'similarity-untrained', 'projection-trained', 'projection-untrained'] as const;
