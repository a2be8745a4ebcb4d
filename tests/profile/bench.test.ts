// kiln.bench: summary statistics, round-robin interleaving of cases, a readback per run, untimed
// prepare/release, the run budget, and errors that name the option.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('kiln.summarize', () => {
  it('gives median, quartiles, min, max and the relative spread', () => {
    const s = kiln.summarize([5, 1, 4, 2, 3]);
    expect(s).toEqual({ median: 3, min: 1, max: 5, q1: 2, q3: 4, spread: 4 / 3 });
    expect(kiln.summarize([1, 2]).median).toBe(1.5);
    expect(() => kiln.summarize([])).toThrow(/no samples/);
  });
});

describe('kiln.bench', () => {
  it('reads the returned tensor back on every run, disposes it, and summarises the timed runs', async () => {
    const a = kiln.randn([32, 32]);
    const b = kiln.randn([32, 32]);
    const live = kiln.memory().liveTensors;
    kiln.resetStats();
    const r = await kiln.bench(() => a.matmul(b), { runs: 5, warmup: 2 });
    expect(kiln.stats().readbacks).toBe(7);
    expect(kiln.memory().liveTensors).toBe(live);
    expect(r.runs).toBe(5);
    expect(r.samplesMs).toHaveLength(5);
    expect(r.warmupMs).toHaveLength(2);
    expect(r.min).toBeLessThanOrEqual(r.median);
    expect(r.median).toBeLessThanOrEqual(r.max);
    expect(r.spread).toBeCloseTo((r.max - r.min) / r.median, 12);
    a.dispose();
    b.dispose();
  });

  it('waits for the GPU when the function returns nothing', async () => {
    const x = kiln.zeros([64]);
    kiln.resetStats();
    await kiln.bench(() => void x.add_(1), { runs: 3, warmup: 1 });
    expect(kiln.stats()).toMatchObject({ readbacks: 0, dispatches: 4 });
    expect(kiln.stats().submits).toBeGreaterThanOrEqual(4);
    expect((await x.data())[0]).toBe(4);
    x.dispose();
  });

  it('interleaves cases run by run after their warm-ups, and times only run()', async () => {
    const log: string[] = [];
    const cases = {
      a: (run: number) => void log.push(`a${run}`),
      b: {
        async prepare(run: number) {
          log.push(`b${run}:prepare`);
          await sleep(30); // untimed
          return run;
        },
        run: (h: number) => void log.push(`b${h}`),
        release: (h: number, result: unknown) => void log.push(`b${h}:release:${String(result)}`),
      },
    };
    const rs = await kiln.bench(cases, { runs: 2, warmup: 1 });
    expect(log).toEqual(['a-1', 'b-1:prepare', 'b-1', 'b-1:release:undefined', 'a0', 'b0:prepare', 'b0', 'b0:release:undefined', 'a1', 'b1:prepare', 'b1', 'b1:release:undefined']);
    const b = rs['b']!;
    if ('error' in b) throw b.error;
    expect(b.max).toBeLessThan(30);
  });

  it('keeps the other cases when one throws, and stops a case that spent its budget', async () => {
    const rs = await kiln.bench(
      {
        slow: async () => {
          await sleep(25);
          return 0;
        },
        broken: (run: number) => {
          if (run >= 0) throw new Error('broken case');
          return 0;
        },
      },
      { runs: 10, warmup: 1, budgetMs: 60 },
    );
    expect(rs['broken']).toEqual({ error: new Error('broken case') });
    const slow = rs['slow']!;
    if ('error' in slow) throw slow.error;
    expect(slow.runs).toBe(3);
    await expect(kiln.bench(() => Promise.reject(new Error('single')), { runs: 1, warmup: 0 })).rejects.toThrow('single');
  });

  it('names a bad option and its value', async () => {
    await expect(kiln.bench(() => 0, { runs: 0 })).rejects.toThrow('bench: runs must be an integer ≥ 1, got 0');
    await expect(kiln.bench(() => 0, { warmup: 1.5 })).rejects.toThrow('bench: warmup must be an integer ≥ 0, got 1.5');
    await expect(kiln.bench(() => 0, { budgetMs: -1 })).rejects.toThrow('bench: budgetMs must be positive, got -1');
  });
});
