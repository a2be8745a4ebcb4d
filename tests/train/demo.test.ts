// A shortened run of the demo (kiln.train.demo): both stages and the final evaluation (about 3 minutes on the loaded 2-core machine),
// reaching stated bounds on a trained pair (vision→text) and on an untrained one (text→audio, emergent).
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

describe('the demo, shortened', () => {
  it('trains image–text, then the other modalities against frozen images; text→audio aligns although never trained', async () => {
    const out = join(tmpdir(), `kiln-demo-${process.pid}`);
    try {
      const r = await kiln.train.demo({ out, steps1: 24, steps2: 16, batchSize: 32, trainSize: 384, heldOutSize: 64 });
      const dir = (q: string, g: string): kiln.train.DirectionResult => r.report.pairs.flatMap((p) => p.directions).find((d) => d.query === q && d.gallery === g)!;
      const vt = dir('vision', 'text');
      const ta = dir('text', 'audio');
      expect(r.emergent).toEqual(['text:audio', 'text:imu']);
      expect(vt.recall['1']).toBeGreaterThanOrEqual(BOUND_TRAINED * vt.chance.recall['1']!);
      expect(ta.recall['1']).toBeGreaterThanOrEqual(BOUND_EMERGENT * ta.chance.recall['1']!);
      expect(r.report.zeroShot[0]!.modality).toBe('audio');
      // The run report: both stages' curves, and heat maps and projections of the final evaluation.
      expect(readFileSync(r.reportFile, 'utf8')).toMatch(/data-chart="similarity-untrained"[^]*text × audio \(untrained pair\)/);
      // Each stage's evaluation stored its held-out embeddings for the stage's own report (fit with retrieval).
      expect(Object.keys((await kiln.train.readReportData(join(out, 'stage2')))!.embeddings)).toEqual(['vision', 'audio', 'depth', 'thermal', 'imu']);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 180_000);
});

/** Stated bounds: Recall@1 as a multiple of its chance level (measured: vision→text 7.8×, text→audio 5.3×). */
const BOUND_TRAINED = 4;
const BOUND_EMERGENT = 3;
