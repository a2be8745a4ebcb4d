// The run report in headless Chromium (Debian's `chromium`, or $CHROMIUM): opened from disk (file://), it
// draws every chart — each SVG laid out with a non-empty box and its marks (lines, cells, points) visible —
// with no page error and no request beyond the file itself. Skipped, saying why, when no Chromium is found.
// KILN_REPORT_SCREENSHOT=<file.png> also saves a full-page screenshot to look at.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { ALL_CHARTS, fixtureData, fixtureRuns } from '../../helpers/report-fixture.js';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const found = existsSync(CHROMIUM);
if (!found) console.warn(`report browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=/path/to/chromium)`);

describe.skipIf(!found)(`the run report in headless Chromium (${CHROMIUM})`, () => {
  it('renders every chart from disk with no error and no request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, kiln.train.renderReport({ title: 'browser test <&>', runs: fixtureRuns(), data: fixtureData() }));
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const drawn = await page.evaluate(() =>
        Array.from(document.querySelectorAll('svg[data-chart]')).map((svg) => {
          const box = svg.getBoundingClientRect();
          const marks = Array.from(svg.querySelectorAll('path.series, circle, rect.cell, .point')).filter((m) => {
            const b = m.getBoundingClientRect();
            return b.width > 0 || b.height > 0;
          });
          return { id: svg.getAttribute('data-chart'), width: box.width, height: box.height, marks: marks.length };
        }),
      );
      expect(drawn.map((d) => d.id).sort()).toEqual([...ALL_CHARTS].sort());
      for (const d of drawn) {
        expect(d.width, d.id!).toBeGreaterThan(200);
        expect(d.height, d.id!).toBeGreaterThan(200);
        expect(d.marks, d.id!).toBeGreaterThan(0);
      }
      expect(drawn.find((d) => d.id === 'similarity-trained')!.marks).toBe(32 * 32);
      expect(drawn.find((d) => d.id === 'projection-trained')!.marks).toBe(2 * 40);
      expect(await page.title()).toBe('browser test <&> · Kiln report');
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);
      const shot = process.env['KILN_REPORT_SCREENSHOT'];
      if (shot) await page.screenshot({ path: shot, fullPage: true });
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
