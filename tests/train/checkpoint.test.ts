// Checkpoint bookkeeping on disk: metrics.jsonl cut back to a step (a half-written last line included),
// and the listing that only counts complete checkpoints (temporaries of a killed writer are not).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

describe('checkpoint bookkeeping', () => {
  it('truncateMetrics keeps rows up to the step and drops a half-written line and all after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-metrics-'));
    const file = join(dir, 'metrics.jsonl');
    const row = (step: number): string => JSON.stringify({ step, loss: 1 / step });
    writeFileSync(file, [row(1), row(2), JSON.stringify({ step: 2, eval: { loss: 1 } }), row(3), row(4)].join('\n') + '\n' + '{"step":5,"lo');
    await kiln.train.truncateMetrics(file, 2);
    expect(readFileSync(file, 'utf8')).toBe([row(1), row(2), JSON.stringify({ step: 2, eval: { loss: 1 } })].join('\n') + '\n');
    writeFileSync(file, `${row(1)}\n${row(2)}\n{"step":3,"lo`);
    await kiln.train.truncateMetrics(file, 10);
    expect(readFileSync(file, 'utf8')).toBe(`${row(1)}\n${row(2)}\n`);
  });

  it('lists complete checkpoints by step, oldest first, ignoring temporaries', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-list-'));
    for (const d of ['step-10', 'step-2', '.tmp-step-12-999', 'step-x', 'notes']) mkdirSync(join(out, 'checkpoints', d), { recursive: true });
    expect((await kiln.train.listCheckpoints(out)).map((c) => c.step)).toEqual([2, 10]);
    expect(await kiln.train.listCheckpoints(join(out, 'nothing-here'))).toEqual([]);
  });
});
