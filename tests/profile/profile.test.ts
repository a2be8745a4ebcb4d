// kiln.profile: every dispatch of a small training step appears with a GPU time, the times fit in the wall
// time, the Chrome trace parses, query sets split past 4,096 queries, the flush-and-time fallback works
// when forced, and profiling leaves no trace on the work done outside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { probe } from '../../src/device/probe.js';
import { dispatchFreshKernel } from '../helpers/fresh-kernel.js';
import { type TinyTrainer, tinyTrainer } from '../helpers/train-step.js';

/** Three Linear layers: a weight and a bias each, one fused AdamW dispatch per parameter. */
const PARAMS = 6;
let trainer: TinyTrainer;
let perStep = 0;

beforeAll(async () => {
  trainer = tinyTrainer();
  for (let i = 0; i < 2; i++) trainer.step();
  await kiln.flush();
  kiln.resetStats();
  trainer.step();
  await kiln.flush();
  perStep = kiln.stats().dispatches;
});

afterAll(() => {
  trainer.dispose();
});

describe('kiln.profile with timestamp queries', () => {
  it('records every dispatch of a training step, and the kernel times fit in the wall time', async () => {
    expect(kiln.deviceInfo().features).toContain('timestamp-query');
    const report = await kiln.profile(() => trainer.step());
    expect(report.timing).toBe('timestamps');
    expect(report.dispatches.length).toBe(perStep);
    expect(report.stats.dispatches).toBe(perStep);
    expect(report.stats.readbacks).toBe(0);
    const kernels = new Set(report.dispatches.map((d) => d.kernel));
    for (const k of ['adamw-multi', 'cross_entropy', 'cross_entropy_backward']) expect(kernels).toContain(k);
    expect([...kernels].some((k) => k.startsWith('matmul:'))).toBe(true);
    // three Linear layers: three forward products and (at least) five backward ones
    expect(report.dispatches.filter((d) => d.op === 'matmul').length).toBeGreaterThanOrEqual(8);
    for (const d of report.dispatches) {
      expect(d.gpuMs).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(d.gpuStartMs)).toBe(true);
    }
    expect(report.gpuMs).toBeGreaterThan(0);
    expect(report.gpuMs).toBeLessThanOrEqual(report.wallMs);
    // Tensor.backward is a named range: the gradient kernels are told from the forward's and AdamW's
    const scopes = new Set(report.dispatches.map((d) => d.scope));
    expect(scopes).toEqual(new Set([null, 'backward']));
    expect(report.dispatches.filter((d) => d.kernel === 'cross_entropy_backward').every((d) => d.scope === 'backward')).toBe(true);
    expect(report.dispatches.filter((d) => d.kernel === 'adamw-multi').every((d) => d.scope === null)).toBe(true);
    expect(report.byScope().map((r) => r.name).sort()).toEqual(['(none)', 'backward']);
    expect(report.table()).toMatch(/by range +count/);
    // the GPU ran them in order, one after the other
    for (let i = 1; i < report.dispatches.length; i++) expect(report.dispatches[i]!.gpuStartMs).toBeGreaterThanOrEqual(report.dispatches[i - 1]!.gpuStartMs);
  });

  it('aggregates by kernel and by op, with GFLOP/s for matmul and GB/s for elementwise ops', async () => {
    const report = await kiln.profile(() => trainer.step());
    const ops = report.byOp();
    const total = ops.reduce((s, r) => s + r.totalMs, 0);
    expect(total).toBeCloseTo(report.gpuMs, 6);
    expect(ops.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 6);
    expect(ops.reduce((s, r) => s + r.count, 0)).toBe(perStep);
    const mm = ops.find((r) => r.name === 'matmul')!;
    expect(mm.gflops).toBeGreaterThan(0);
    // one forward product: [8, 32] · [32, 32]
    expect(report.dispatches.some((d) => d.op === 'matmul' && d.flops === 2 * 8 * 32 * 32)).toBe(true);
    expect(ops.some((r) => r.gbps !== null && r.gbps > 0)).toBe(true);
    expect(report.byKernel().reduce((s, r) => s + r.count, 0)).toBe(perStep);
    const text = report.table();
    expect(text).toMatch(/GPU timestamp queries/);
    expect(text).toMatch(/by kernel +count +total ms +mean ms +share +GFLOP\/s +GB\/s/);
    expect(text).toMatch(/\n\s*matmul +\d+ /);
  });

  it('takes the work launchers state: flops of matmul and attention, bytes of elementwise, reduce and row ops', async () => {
    const x = kiln.randn([4, 8]);
    const q = kiln.randn([2, 3, 5, 8]);
    const w = kiln.randn([8, 6]);
    const report = await kiln.profile(() => {
      kiln.tidy(() => {
        kiln.F.softmax(x, -1);
        kiln.F.layerNorm(x, [8]);
        x.add(1);
        x.sum(1);
        x.matmul(w);
        kiln.F.scaledDotProductAttention(q, q, q);
      });
    });
    const by = (op: string) => report.dispatches.find((d) => d.op === op);
    expect(by('softmax')).toMatchObject({ shapes: [[4, 8]], bytes: 2 * 32 * 4, flops: null });
    expect(by('layerNorm')).toMatchObject({ bytes: 2 * 32 * 4 });
    expect(by('add_scalar')?.bytes).toBe(2 * 32 * 4);
    expect(by('sum')?.bytes).toBeGreaterThanOrEqual(32 * 4 + 4 * 4);
    expect(by('matmul')).toMatchObject({ flops: 2 * 4 * 8 * 6 });
    expect(by('attention')).toMatchObject({ shapes: [[2, 3, 5, 8], [2, 3, 5, 8]], flops: 4 * 2 * 3 * 5 * 5 * 8 });
    for (const t of [x, q, w]) t.dispose();
  });

  it('writes a Chrome trace with CPU and GPU on separate processes', async () => {
    const report = await kiln.profileSteps(() => trainer.step(), 2, { warmup: 0 });
    const trace = JSON.parse(report.toChromeTrace()) as { traceEvents: { ph: string; pid: number; name: string; ts?: number; dur?: number; args?: Record<string, unknown> }[] };
    const ev = trace.traceEvents;
    const names = ev.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => [e.pid, e.args?.['name']]);
    expect(names).toEqual(expect.arrayContaining([[1, 'CPU (performance.now)'], [2, 'GPU (timestamp queries)']]));
    const gpu = ev.filter((e) => e.ph === 'X' && e.pid === 2);
    expect(gpu.length).toBe(2 * perStep);
    for (const e of ev.filter((x) => x.ph !== 'M')) {
      expect(Number.isFinite(e.ts)).toBe(true);
      if (e.ph === 'X') expect(e.dur).toBeGreaterThanOrEqual(0);
    }
    expect(gpu.filter((e) => e.name === 'adamw-multi').length).toBe(2 * Math.ceil(PARAMS / 2)); // two parameters per AdamW dispatch
    expect(ev.filter((e) => e.ph === 'X' && e.pid === 1 && /^step \d$/.test(e.name)).length).toBe(2);
    expect(ev.some((e) => e.ph === 's') && ev.some((e) => e.ph === 'f')).toBe(true);
    expect(ev.some((e) => e.name === 'submit')).toBe(true);
  });

  it('records readbacks, buffer creations, pipeline compiles and a memory timeline', async () => {
    await kiln.emptyCache(); // the pool keeps nothing: the first allocation creates a buffer
    const report = await kiln.profile(async () => {
      const x = kiln.randn([123, 7]);
      dispatchFreshKernel(x); // a kernel no test has compiled: a pipeline compile
      const y = x.mul(1.5);
      await y.data();
      x.dispose();
      y.dispose();
    });
    expect(report.stats.readbacks).toBe(1);
    expect(report.events.filter((e) => e.kind === 'readback')).toHaveLength(1);
    expect(report.stats.pipelineCompiles).toBeGreaterThanOrEqual(1);
    expect(report.events.some((e) => e.name === 'compile fresh-test-kernel')).toBe(true);
    expect(report.events.filter((e) => e.kind === 'compile').length).toBe(report.stats.pipelineCompiles);
    expect(report.stats.buffersCreated).toBeGreaterThanOrEqual(1);
    expect(report.events.filter((e) => e.kind === 'buffer').length).toBe(report.stats.buffersCreated);
    expect(report.memory.length).toBeGreaterThan(2);
    expect(report.peakBytes).toBeGreaterThanOrEqual(2 * 123 * 7 * 4);
  });

  it('splits timestamp queries over several query sets past 4,096 queries', async () => {
    const x = kiln.zeros([16]);
    const n = 2100; // 4,200 queries
    const report = await kiln.profile(() => {
      for (let i = 0; i < n; i++) x.add_(1);
    });
    expect(report.dispatches.length).toBeGreaterThanOrEqual(n);
    const last = report.dispatches[report.dispatches.length - 1]!;
    const first = report.dispatches[0]!;
    expect(last.gpuStartMs).toBeGreaterThan(first.gpuStartMs);
    expect(report.dispatches.every((d) => d.gpuMs >= 0)).toBe(true);
    expect(report.gpuMs).toBeLessThanOrEqual(report.wallMs);
    expect((await x.data())[0]).toBe(n);
    x.dispose();
  });
});

describe('kiln.recordFunction', () => {
  it('names the dispatches of nested ranges, and only calls the function outside a profile', async () => {
    const x = kiln.ones([4]);
    expect(kiln.recordFunction('idle', () => 7)).toBe(7);
    const report = await kiln.profile(async () => {
      kiln.tidy(() => kiln.recordFunction('outer', () => [x.add(1), kiln.recordFunction('inner', () => x.mul(2))]));
      await kiln.recordFunction('async', async () => {
        await Promise.resolve();
        kiln.tidy(() => x.exp());
      });
      expect(() => kiln.recordFunction('throws', () => {
        throw new Error('inside');
      })).toThrow('inside');
      kiln.tidy(() => x.div(2));
    });
    // (the NaN-poisoning fills of the tests' allocations left out)
    expect(report.dispatches.filter((d) => d.op !== 'fill-words').map((d) => [d.op, d.scope])).toEqual([
      ['add_scalar', 'outer'],
      ['mul_scalar', 'outer/inner'],
      ['exp', 'async'],
      ['div_scalar', null],
    ]);
    expect(report.events.filter((e) => e.kind === 'range').map((e) => e.name)).toEqual(['inner', 'outer', 'async', 'throws']);
    x.dispose();
  });
});

describe('the flush-and-time fallback', () => {
  it('works when forced by the option, and labels itself', async () => {
    const report = await kiln.profile(() => trainer.step(), { timing: 'flush' });
    expect(report.timing).toBe('flush');
    expect(report.dispatches.length).toBe(perStep);
    expect(report.dispatches.every((d) => Number.isFinite(d.gpuMs) && d.gpuMs >= 0)).toBe(true);
    expect(report.gpuMs).toBeGreaterThan(0);
    expect(report.table()).toMatch(/FLUSH-AND-TIME FALLBACK/);
    const trace = JSON.parse(report.toChromeTrace()) as { traceEvents: { ph: string; name: string; args?: Record<string, unknown> }[] };
    expect(trace.traceEvents.some((e) => e.name === 'process_name' && e.args?.['name'] === 'GPU (flush-and-time fallback)')).toBe(true);
  });

  it('is chosen by KILN_PROFILE_TIMING, and its replays leave tensors untouched', async () => {
    const prev = process.env['KILN_PROFILE_TIMING'];
    process.env['KILN_PROFILE_TIMING'] = 'flush';
    try {
      const x = kiln.tensor([1, 2, 3]);
      let y: kiln.Tensor | null = null;
      const report = await kiln.profile(() => {
        y = x.mul(2);
      });
      expect(report.timing).toBe('flush');
      expect(Array.from(await y!.data())).toEqual([2, 4, 6]);
      expect(Array.from(await x.data())).toEqual([1, 2, 3]);
      x.dispose();
      y!.dispose();
    } finally {
      if (prev === undefined) delete process.env['KILN_PROFILE_TIMING'];
      else process.env['KILN_PROFILE_TIMING'] = prev;
    }
  });
});

describe('profiling costs nothing outside a profile', () => {
  it('the same work does the same dispatches, submits and buffer creations before and after a profile, and inside one', async () => {
    const run = async (): Promise<kiln.WorkStats> => {
      kiln.resetStats();
      for (let i = 0; i < 3; i++) trainer.step();
      await kiln.flush();
      return kiln.stats();
    };
    await run(); // warm: the pool holds every buffer a step needs
    const before = await run();
    const report = await kiln.profile(async () => {
      for (let i = 0; i < 3; i++) trainer.step();
      await kiln.flush();
    });
    expect(probe.recorder).toBeNull();
    const after = await run();
    expect(after).toEqual(before);
    expect(report.stats.dispatches).toBe(before.dispatches);
    expect(report.stats.buffersCreated).toBe(before.buffersCreated);
    expect(before.buffersCreated).toBe(0);
  });

  it('uninstalls itself when the function throws, and refuses to nest', async () => {
    const x = kiln.ones([4]);
    let y: kiln.Tensor | null = null;
    const failing = async (): Promise<void> => {
      y = x.mul(3); // recorded, not submitted, when the function throws
      await Promise.resolve();
      throw new Error('boom');
    };
    await expect(kiln.profile(failing)).rejects.toThrow('boom');
    expect(probe.recorder).toBeNull();
    // the pending dispatch wrote into a query set that is gone now: it still runs, and no error surfaces
    expect(Array.from(await y!.data())).toEqual([3, 3, 3, 3]);
    x.dispose();
    y!.dispose();
    await expect(kiln.profile(() => kiln.profile(() => undefined))).rejects.toThrow(/profiles do not nest/);
    expect(probe.recorder).toBeNull();
    await expect(kiln.profile(() => undefined, { timing: 'fast' as 'flush' })).rejects.toThrow(/timing must be 'auto', 'timestamps' or 'flush', got 'fast'/);
    await expect(kiln.profileSteps(() => undefined, 0)).rejects.toThrow(/profileSteps: steps must be a positive integer, got 0/);
  });
});
