// The tuning cache: measuring two matmul candidates on a tiny problem writes the choice atomically
// (temporary file, then rename) under KILN_CACHE_DIR, and a reload reads it back for runMatmul. tune()
// drops a candidate after one timed run when it is DROP_FACTOR× slower than the best so far.
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { matmulCandidates, matmulConfigUsable, matmulTuneKey, tuneMatmul } from '../../src/kernels/matmul.js';
import { DROP_FACTOR, INCUMBENT_MARGIN, loadTuningCache, tune, tuned } from '../../src/kernels/tune.js';

const saved = { dir: process.env['KILN_CACHE_DIR'], tune: process.env['KILN_TUNE'] };

function restore(name: string, v: string | undefined): void {
  if (v === undefined) delete process.env[name];
  else process.env[name] = v;
}

afterEach(async () => {
  vi.restoreAllMocks();
  syncBuiltinESMExports();
  restore('KILN_CACHE_DIR', saved.dir);
  restore('KILN_TUNE', saved.tune);
  await loadTuningCache(); // back to what the rest of the suite sees
});

describe('tuning cache', () => {
  it('tunes a tiny matmul with two candidates, writes the cache atomically, and reads it back', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kiln-tune-'));
    process.env['KILN_CACHE_DIR'] = dir;
    process.env['KILN_TUNE'] = 'on';
    const rename = vi.spyOn(fsp, 'rename');
    syncBuiltinESMExports(); // the spy must be visible through `import('node:fs/promises')` as well
    const candidates = matmulCandidates.filter(matmulConfigUsable).slice(0, 2);
    expect(candidates.length).toBe(2);

    const res = await tuneMatmul({ M: 8, K: 8, N: 8 }, { candidates, runs: 1 });
    expect(candidates).toContainEqual(res.choice);
    expect(res.times).toHaveLength(2);

    const file = path.join(dir, 'tuning.json');
    expect(rename).toHaveBeenCalledTimes(1);
    const [from, to] = rename.mock.calls[0]!;
    expect(String(to)).toBe(file);
    expect(path.dirname(String(from))).toBe(dir); // same directory, so the rename is atomic
    expect(String(from)).toMatch(/\.tmp$/);
    expect((await fsp.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const cache = JSON.parse(await fsp.readFile(file, 'utf8')) as { version: number; adapters: Record<string, Record<string, unknown>> };
    expect(cache.version).toBe(1);
    const [adapter] = Object.keys(cache.adapters);
    expect(adapter).toMatch(/webgpu@|navigator/);
    const key = matmulTuneKey(8, 8, 8);
    expect(cache.adapters[adapter!]![`${key.kernel}|${key.source}|${key.shapeClass}`]).toEqual(res.choice);

    await loadTuningCache();
    expect(tuned(key, () => 'fallback')).toEqual(res.choice);
    process.env['KILN_TUNE'] = 'off';
    expect(tuned(key, () => 'fallback')).toBe('fallback');
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('drops a candidate after its first timed run when it is over DROP_FACTOR× the best, whichever came first', async () => {
    process.env['KILN_TUNE'] = 'on';
    // A fake clock: each run advances it by exactly its cost (a busy-wait once read 30 ms as over 60 when the
    // machine hiccupped, and dropped a candidate the rule keeps).
    let now = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    const busy = (ms: number): void => {
      now += ms;
    };
    for (const order of [[30, 300, 33], [300, 30, 33]]) {
      const calls = new Map<number, number>();
      const res = await tune({ kernel: 'test', source: 'x', shapeClass: 'y' }, order, (ms) => {
        calls.set(ms, (calls.get(ms) ?? 0) + 1);
        busy(ms);
      }, { runs: 3, persist: false });
      expect(DROP_FACTOR).toBe(2);
      expect(calls.get(300)).toBe(2); // the warm-up and one timed run
      expect(calls.get(30)).toBe(4); // the warm-up and three timed runs
      expect(calls.get(33)).toBe(4);
      expect([30, 33]).toContain(res.choice);
      expect(res.times).toHaveLength(3);
    }
    clock.mockRestore();
  });

  it('keeps the incumbent (the adapter default) unless a challenger is INCUMBENT_MARGIN faster', async () => {
    process.env['KILN_TUNE'] = 'on';
    // A fake clock: each run advances it by exactly its cost, so the comparison is the margin rule alone
    // (a busy-wait on a loaded machine once measured 40 ms as 44 and let the 39 ms challenger win).
    let now = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    const key = { kernel: 'test', source: 'x', shapeClass: 'z' };
    const run = (ms: number): void => {
      now += ms;
    };
    expect(INCUMBENT_MARGIN).toBe(0.1);
    // 40 vs 39 ms: within the margin, the incumbent stays even though it measured slower
    expect((await tune(key, [40, 39], run, { runs: 3, persist: false, incumbent: 0 })).choice).toBe(40);
    // 40 vs 20 ms: a clear win replaces it
    expect((await tune(key, [40, 20], run, { runs: 3, persist: false, incumbent: 0 })).choice).toBe(20);
    clock.mockRestore();
  });
});
