// `kiln eval`: scores a checkpoint on held-out synthetic scenes as JSON; usage errors exit 2, a directory
// that is no checkpoint exits 1 with a message naming it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import * as kiln from '../../src/node.js';

function captureIo(): { io: { out: (l: string) => void; err: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

describe('kiln eval', () => {
  it('evaluates a demo checkpoint: both directions with chance levels, as JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-eval-'));
    const dataset = await kiln.data.synthetic({ size: 16, modalities: ['vision', 'text'] });
    const s = await kiln.train.fit({ model: { kind: 'imagebind', config: 'demo' }, pairs: [{ a: 'vision', b: 'text' }], steps: 2, batchSize: 8, logEvery: 1, checkpointEvery: 2, out: dir }, { dataset });
    const cap = captureIo();
    const rc = await runCli(['eval', '--checkpoint', s.checkpoint, '--pairs', 'vision:text', '--samples', '16', '--json'], cap.io);
    expect(rc, cap.err.join('\n')).toBe(0);
    const r = JSON.parse(cap.out.join('\n')) as kiln.train.EvalReport;
    expect(r.samples).toBe(16);
    const [d0, d1] = r.pairs[0]!.directions;
    expect([d0.query, d1.query]).toEqual(['vision', 'text']);
    expect(Object.keys(d0.recall)).toEqual(['1', '5', '10']);
    expect(d0.chance.recall['10']).toBeGreaterThan(d0.chance.recall['1']!);
    expect(r.zeroShot.map((z) => z.modality)).toEqual(['vision']);
  }, 120_000);

  it('refuses bad usage (2) and a directory that is no checkpoint (1)', async () => {
    let cap = captureIo();
    expect(await runCli(['eval'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/--checkpoint <dir> is required/);
    cap = captureIo();
    expect(await runCli(['eval', '--checkpoint', '/nonexistent', '--pairs', 'vision'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/--pairs: expected query:gallery pairs/);
    cap = captureIo();
    expect(await runCli(['eval', '--checkpoint', tmpdir()], cap.io)).toBe(1);
    expect(cap.err[0]).toMatch(/is not a Kiln checkpoint: cannot read state.json/);
  });
});
