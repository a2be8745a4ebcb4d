// The run report page from data (kiln.train.renderReport): every chart is drawn, the heat maps' figures
// match a float64 reference, the pairs are chosen right, all text is escaped, nothing is fetched.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { choosePairs } from '../../../src/train/report/html.js';
import { ALL_CHARTS, fixtureData, fixtureRuns } from '../../helpers/report-fixture.js';

const charts = (html: string): string[] => [...html.matchAll(/<svg data-chart="([^"]+)"/g)].map((m) => m[1]!);

describe('kiln.train.renderReport', () => {
  it('draws every chart of a two-stage run with held-out embeddings', () => {
    const html = kiln.train.renderReport({ title: 'run', runs: fixtureRuns(), data: fixtureData() });
    expect(charts(html).sort()).toEqual([...ALL_CHARTS].sort());
    // Each line chart has its series (a path per key) and the recall chart its evaluation dots.
    const chart = (id: string): string => html.slice(html.indexOf(`data-chart="${id}"`), html.indexOf('</svg>', html.indexOf(`data-chart="${id}"`)));
    expect(chart('loss').match(/class="series"/g)).toHaveLength(4); // total, vision-text, vision-audio, held-out total
    expect(chart('grad-norm').match(/class="series"/g)).toHaveLength(4); // total, vision, text, audio
    expect(chart('recall').match(/<circle/g)!.length).toBe(3 * 2 + 2 * 2); // stage 1 evaluates at 4, 8, 12; stage 2 at 4, 8
    expect(chart('similarity-trained').match(/class="cell"/g)).toHaveLength(32 * 32);
    expect(chart('projection-untrained').match(/class="point"/g)).toHaveLength(2 * 40);
    expect(html).toContain('data-table="data-summary"');
    expect(html).toContain('unreadable image: 2');
    expect(html).toMatch(/Principal component analysis \(PCA/);
  });

  it('shows vision × text as the trained pair and text × audio (never trained together) as the untrained one', () => {
    const html = kiln.train.renderReport({ title: 'run', runs: fixtureRuns(), data: fixtureData() });
    expect(html).toContain('vision × text (trained pair)');
    expect(html).toContain('text × audio (untrained pair)');
    expect(choosePairs(['vision', 'text', 'audio'], new Set(['text-vision']))).toEqual({ trained: ['text', 'vision'], untrained: ['text', 'audio'] });
    expect(choosePairs(['vision', 'text'], new Set(['vision-text']))).toEqual({ trained: ['vision', 'text'], untrained: null });
  });

  it('states the heat maps’ mean diagonal and off-diagonal cosines as a float64 reference computes them', () => {
    const d = fixtureData();
    const html = kiln.train.renderReport({ title: 'run', runs: fixtureRuns(), data: d });
    const n = 32;
    const row = (m: string, i: number): number[] => d.embeddings[m]!.slice(i * d.dim, (i + 1) * d.dim);
    let diag = 0;
    let off = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const a = row('text', i);
        const b = row('audio', j);
        const c = a.reduce((s, x, k) => s + x * b[k]!, 0) / (Math.hypot(...a) * Math.hypot(...b));
        if (i === j) diag += c / n;
        else off += c / (n * (n - 1));
      }
    expect(html).toContain(`Cosine similarity of the first 32 held-out text embeddings (rows) with the same samples’ audio embeddings (columns); the diagonal holds the matching pairs. Mean diagonal ${diag.toFixed(3)} vs off-diagonal ${off.toFixed(3)}`);
    expect(diag).toBeGreaterThan(off + 0.3); // the fixture's classes make matching samples alike
  });

  it('escapes every piece of text it is given', () => {
    const evil = '<script>alert("x")</script>&';
    const runs = fixtureRuns().map((r) => ({ ...r, name: `${r.name}${evil}`, rows: r.rows.map((row) => ('losses' in row ? { ...row, losses: { [evil]: 1 }, lr: { [evil]: 1 } } : row)) }));
    const data = { ...fixtureData(), embeddings: { [evil]: fixtureData().embeddings['vision']!, text: fixtureData().embeddings['text']! }, carries: undefined };
    const html = kiln.train.renderReport({ title: `title ${evil} "q" 'a'`, runs, data, generated: evil });
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/alert\("x"\)/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
    // Self-contained: nothing loads from anywhere.
    expect(html).not.toMatch(/<(script|link|img|iframe|object)\b|\bsrc=|@import|url\((?!#)/i);
  });

  it('draws the curves and says why when there are no embeddings, evaluations or data rows', () => {
    const runs = [{ name: '', dir: 'r', rows: fixtureRuns()[0]!.rows.filter((r) => 'losses' in r).map(({ dataWait: _w, ...r }) => r) }];
    const html = kiln.train.renderReport({ title: 'bare', runs, data: null, dataNote: 'No report-data.json here.' });
    expect(charts(html)).toEqual(['loss', 'lr', 'grad-norm', 'recall']);
    expect(html).toContain('Held-out Recall@1: no data in this run');
    expect(html).toContain('No report-data.json here.');
    expect(html).not.toContain('data-summary');
  });
});
