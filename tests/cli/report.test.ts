// `kiln report <out>`: rebuilds report.html offline from a run directory's metrics.jsonl and
// report-data.json; without report-data.json it recomputes the held-out embeddings from the newest
// checkpoint (fit() itself writes a curves-only report at the end of a run that evaluated no retrieval).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import * as kiln from '../../src/node.js';
import { captureIo } from '../helpers/cli-io.js';
import { ALL_CHARTS, fixtureData, fixtureRuns } from '../helpers/report-fixture.js';

const charts = (html: string): string[] => [...html.matchAll(/<svg data-chart="([^"]+)"/g)].map((m) => m[1]!).sort();

describe('kiln report', () => {
  it('rebuilds the report of a two-stage run directory from its files alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-report-'));
    try {
      for (const run of fixtureRuns()) {
        mkdirSync(join(dir, run.name));
        writeFileSync(join(dir, run.name, 'metrics.jsonl'), run.rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      }
      writeFileSync(join(dir, 'report-data.json'), JSON.stringify(fixtureData()));
      const cap = captureIo();
      expect(await runCli(['report', dir, '--title', 'two stages'], cap.io), cap.err.join('\n')).toBe(0);
      expect(cap.out).toEqual([join(dir, 'report.html')]);
      const html = readFileSync(join(dir, 'report.html'), 'utf8');
      expect(charts(html)).toEqual([...ALL_CHARTS].sort());
      expect(html).toContain('<h1>two stages</h1>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad usage (2), a directory without metrics (1) and a malformed report-data.json (1)', async () => {
    let cap = captureIo();
    expect(await runCli(['report'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/kiln report: expected one run directory, got none/);
    cap = captureIo();
    expect(await runCli(['report', 'a', 'b'], cap.io)).toBe(2);
    cap = captureIo();
    expect(await runCli(['report', '/nonexistent-kiln-run'], cap.io)).toBe(1);
    expect(cap.err[0]).toMatch(/cannot read the run directory \/nonexistent-kiln-run/);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-report-'));
    try {
      writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify(fixtureRuns()[0]!.rows[0])}\n`);
      writeFileSync(join(dir, 'report-data.json'), JSON.stringify({ ...fixtureData(), dim: 7 }));
      cap = captureIo();
      expect(await runCli(['report', dir], cap.io)).toBe(1);
      expect(cap.err[0]).toMatch(/report-data\.json: embeddings\.vision has 320 values, expected samples·dim = 40·7/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recomputes the held-out embeddings from the newest checkpoint when the run stored none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-report-'));
    try {
      const dataset = await kiln.data.synthetic({ size: 16, modalities: ['vision', 'text'] });
      await kiln.train.fit({ model: { kind: 'imagebind', config: 'demo' }, pairs: [{ a: 'vision', b: 'text' }], steps: 2, batchSize: 8, logEvery: 1, checkpointEvery: 2, out: dir }, { dataset });
      // fit() wrote a report with the curves (every train row carries dataWait) and a note: it evaluated no
      // retrieval, so stored no embeddings.
      const first = readFileSync(join(dir, 'report.html'), 'utf8');
      expect(charts(first)).toEqual(['data-wait', 'grad-norm', 'loss', 'lr', 'recall']);
      expect(first).toContain('data-note="no-embeddings"');
      expect(existsSync(join(dir, 'report-data.json'))).toBe(false);

      const cap = captureIo();
      expect(await runCli(['report', dir, '--samples', '16'], cap.io), cap.err.join('\n')).toBe(0);
      const d = (await kiln.train.readReportData(dir))!;
      expect(d.step).toBe(2);
      expect([d.samples, d.dim]).toEqual([16, 64]);
      expect(Object.keys(d.embeddings)).toEqual(['vision', 'text', 'audio', 'depth', 'thermal', 'imu']);
      const html = readFileSync(join(dir, 'report.html'), 'utf8');
      expect(charts(html)).toEqual(['data-wait', 'grad-norm', 'loss', 'lr', 'projection-trained', 'projection-untrained', 'recall', 'similarity-trained', 'similarity-untrained']);
      expect(html).toContain('vision × text (trained pair)');
      expect(html).toContain('text × audio (untrained pair)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
