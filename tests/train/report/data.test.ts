// The report's files: report-data.json from an evaluation (embeddings, scene attributes of synthetic data,
// at most REPORT_SAMPLES samples) and back; a run directory's stages in natural order; malformed input named.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { REPORT_SAMPLES } from '../../../src/train/report/data.js';

function fakeReport(samples: number, dim: number): kiln.train.EvalReport {
  const emb = (k: number): Float32Array => Float32Array.from({ length: samples * dim }, (_, i) => Math.sin(i * 0.7 + k) / 3);
  return { samples, pairs: [], zeroShot: [], intraClass: {}, embeddings: { vision: emb(0), audio: emb(1) }, labels: {} };
}

describe('report data', () => {
  it('stores an evaluation’s embeddings and a synthetic dataset’s scene attributes, and reads them back', async () => {
    const syn = await kiln.data.synthetic({ size: 6, split: 'heldout', modalities: ['vision', 'audio'] });
    const d = kiln.train.reportData(fakeReport(6, 4), syn, 12);
    expect([d.step, d.samples, d.dim]).toEqual([12, 6, 4]);
    expect(d.embeddings['audio']![5]).toBeCloseTo(Math.sin(5 * 0.7 + 1) / 3, 6);
    expect(d.attributes!['shape']!.of).toEqual(Array.from({ length: 6 }, (_, i) => syn.scene(i).shape));
    expect(d.attributes!['motion']!.values).toEqual(['left', 'right', 'up', 'down']);
    expect(d.carries).toEqual({ vision: ['shape', 'colour', 'size', 'position', 'motion'], audio: ['shape', 'colour'] });
    const dir = mkdtempSync(join(tmpdir(), 'kiln-report-data-'));
    try {
      await kiln.train.writeReportData(dir, d);
      expect(await kiln.train.readReportData(dir)).toEqual(d);
      expect(await kiln.train.readReportData(join(dir, 'none'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the first REPORT_SAMPLES samples; no attributes for other datasets', () => {
    const d = kiln.train.reportData(fakeReport(REPORT_SAMPLES + 3, 2), null, null);
    expect(d.samples).toBe(REPORT_SAMPLES);
    expect(d.embeddings['vision']).toHaveLength(REPORT_SAMPLES * 2);
    expect(d.attributes).toBeUndefined();
  });

  it('reads a directory of stages in natural order and names a malformed metrics line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-report-runs-'));
    try {
      for (const s of ['stage10', 'stage2', 'notes']) mkdirSync(join(dir, s));
      writeFileSync(join(dir, 'stage10', 'metrics.jsonl'), '{"step":1,"loss":2}\n\n');
      writeFileSync(join(dir, 'stage2', 'metrics.jsonl'), '{"step":1,"loss":3}\n');
      const runs = await kiln.train.readRuns(dir);
      expect(runs.map((r) => [r.name, r.rows])).toEqual([['stage2', [{ step: 1, loss: 3 }]], ['stage10', [{ step: 1, loss: 2 }]]]);
      writeFileSync(join(dir, 'stage2', 'metrics.jsonl'), '{"step":1}\n[1, 2]\n');
      await expect(kiln.train.readRuns(dir)).rejects.toThrow(/stage2\/metrics\.jsonl:2: not a JSON object/);
      await expect(kiln.train.readRuns(join(dir, 'notes'))).rejects.toThrow(/holds no metrics\.jsonl, nor does any directory in it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
