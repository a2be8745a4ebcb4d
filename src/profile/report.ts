// What kiln.profile returns: every dispatch with its kernel, op, shapes, workgroups and GPU time, the CPU
// events around them, the work counters and a memory timeline; aggregated by kernel and by op in table(),
// and written as a Chrome trace (chrome://tracing, Perfetto) by toChromeTrace(). No GPU work happens here.

import type { WorkStats } from '../device/counters.js';
import type { CpuEvent, MemorySample, RawDispatch, Timing } from '../device/profiler.js';

export interface ProfiledDispatch {
  /** Order of recording, from 0. */
  readonly index: number;
  readonly kernel: string;
  /** The op the launcher named, or the kernel name's first segment. */
  readonly op: string;
  readonly shapes: readonly (readonly number[])[];
  readonly workgroups: readonly [number, number, number];
  readonly flops: number | null;
  readonly bytes: number | null;
  /** The kiln.recordFunction ranges it ran in ('step 3/backward'), or null. */
  readonly scope: string | null;
  /** When the CPU recorded it, ms since the profile started, and how long recording took. */
  readonly cpuMs: number;
  readonly recordMs: number;
  /** When it started on the GPU, ms on the GPU track (see ProfileReport.timing). */
  readonly gpuStartMs: number;
  /** Its GPU time in ms. */
  readonly gpuMs: number;
}

/** One line of table(): a kernel or an op, aggregated. */
export interface ProfileRow {
  readonly name: string;
  readonly count: number;
  readonly totalMs: number;
  readonly meanMs: number;
  /** Fraction of all dispatches' GPU time. */
  readonly share: number;
  /** Over the dispatches of this row that state their flops; null when none does. */
  readonly gflops: number | null;
  readonly gbps: number | null;
}

const TIMING_LABEL: Record<Timing, string> = {
  timestamps: 'GPU timestamp queries, one compute pass per dispatch',
  flush:
    'FLUSH-AND-TIME FALLBACK (no timestamp queries): after the run each dispatch was replayed alone on zeroed scratch ' +
    'buffers of its sizes, submitted, and timed on the CPU clock to completion, less an empty submit; approximate',
};

export class ProfileReport {
  readonly dispatches: readonly ProfiledDispatch[];
  /** Sum of the dispatches' GPU times (ms). */
  readonly gpuMs: number;
  /** Peak of the memory timeline (bytes the pool had handed out). */
  readonly peakBytes: number;

  constructor(
    /** How GPU times were measured. */
    readonly timing: Timing,
    /** Wall-clock time of the profiled function, including waiting for its GPU work (ms). */
    readonly wallMs: number,
    private readonly raw: readonly RawDispatch[],
    /** Work counters over the profile: submits, dispatches, readbacks, buffers created, pipeline compiles, … */
    readonly stats: WorkStats,
    /** CPU-side events: submits, readbacks (the wait), pipeline compiles, buffer creations, step ranges. */
    readonly events: readonly CpuEvent[],
    /** Bytes in use over time, one sample per change. */
    readonly memory: readonly MemorySample[],
    /** CPU time of each submit (ms since start): where the GPU track is placed on the CPU clock. */
    private readonly submitMs: readonly number[],
  ) {
    this.dispatches = raw.map((d, index) => ({
      index,
      kernel: d.kernel,
      op: d.work?.op ?? d.kernel.split(':')[0]!,
      shapes: d.work?.shapes ?? [],
      workgroups: d.workgroups,
      flops: d.work?.flops ?? null,
      bytes: d.work?.bytes ?? null,
      scope: d.scope,
      cpuMs: d.cpuStartMs,
      recordMs: d.cpuEndMs - d.cpuStartMs,
      gpuStartMs: d.gpuStartMs,
      gpuMs: d.gpuEndMs - d.gpuStartMs,
    }));
    this.gpuMs = this.dispatches.reduce((s, d) => s + d.gpuMs, 0);
    this.peakBytes = memory.reduce((m, s) => Math.max(m, s.bytes), 0);
  }

  /** Dispatches grouped by kernel name, most GPU time first. */
  byKernel(): ProfileRow[] {
    return this.group((d) => d.kernel);
  }

  /** Dispatches grouped by op, most GPU time first. */
  byOp(): ProfileRow[] {
    return this.group((d) => d.op);
  }

  /**
   * Dispatches grouped by their innermost kiln.recordFunction range ('backward', a step…; '(none)' outside
   * any), most GPU time first.
   */
  byScope(): ProfileRow[] {
    return this.group((d) => (d.scope === null ? '(none)' : d.scope.slice(d.scope.lastIndexOf('/') + 1)));
  }

  private group(key: (d: ProfiledDispatch) => string): ProfileRow[] {
    const acc = new Map<string, { count: number; ms: number; flops: number; flopsMs: number; bytes: number; bytesMs: number }>();
    for (const d of this.dispatches) {
      const k = key(d);
      let a = acc.get(k);
      if (!a) acc.set(k, (a = { count: 0, ms: 0, flops: 0, flopsMs: 0, bytes: 0, bytesMs: 0 }));
      a.count += 1;
      a.ms += d.gpuMs;
      if (d.flops !== null) {
        a.flops += d.flops;
        a.flopsMs += d.gpuMs;
      }
      if (d.bytes !== null) {
        a.bytes += d.bytes;
        a.bytesMs += d.gpuMs;
      }
    }
    const rate = (work: number, ms: number): number | null => (ms > 0 && work > 0 ? work / (ms * 1e6) : null);
    return [...acc.entries()]
      .map(([name, a]) => ({
        name,
        count: a.count,
        totalMs: a.ms,
        meanMs: a.ms / a.count,
        share: this.gpuMs > 0 ? a.ms / this.gpuMs : 0,
        gflops: rate(a.flops, a.flopsMs),
        gbps: rate(a.bytes, a.bytesMs),
      }))
      .sort((x, y) => y.totalMs - x.totalMs || x.name.localeCompare(y.name));
  }

  /** The report as text: a summary, then the by-kernel and by-op tables (the top `top` rows of each). */
  table(opts: { top?: number } = {}): string {
    const top = opts.top ?? 30;
    const s = this.stats;
    const head = [
      `kiln.profile: ${this.dispatches.length} dispatches, ${fmt(this.gpuMs)} ms GPU in ${fmt(this.wallMs)} ms wall`,
      `timing: ${TIMING_LABEL[this.timing]}`,
      `submits ${s.submits}, readbacks ${s.readbacks}, buffers created ${s.buffersCreated}, pipeline compiles ${s.pipelineCompiles}, ` +
        `uploads ${s.uploads} (${mib(s.bytesUploaded)}), peak in use ${mib(this.peakBytes)}`,
    ];
    const parts = [...head, '', renderRows('kernel', this.byKernel(), top), '', renderRows('op', this.byOp(), top)];
    if (this.dispatches.some((d) => d.scope !== null)) parts.push('', renderRows('range', this.byScope(), top));
    return parts.join('\n');
  }

  /**
   * A Chrome trace (JSON text; open in chrome://tracing or ui.perfetto.dev): the CPU (recording, submits,
   * readback waits, compiles, buffer creations, memory in use) and the GPU (one slice per dispatch) are
   * separate processes, as their clocks are separate. The GPU track starts at the first profiled submit.
   */
  toChromeTrace(): string {
    const CPU = 1;
    const GPU = 2;
    // microseconds, kept to the nanosecond
    const us = (ms: number): number => Math.round(ms * 1e6) / 1e3;
    const events: Record<string, unknown>[] = [
      { ph: 'M', pid: CPU, name: 'process_name', args: { name: 'CPU (performance.now)' } },
      { ph: 'M', pid: CPU, tid: 1, name: 'thread_name', args: { name: 'JS thread' } },
      { ph: 'M', pid: GPU, name: 'process_name', args: { name: this.timing === 'timestamps' ? 'GPU (timestamp queries)' : 'GPU (flush-and-time fallback)' } },
      { ph: 'M', pid: GPU, tid: 1, name: 'thread_name', args: { name: 'queue' } },
      { ph: 'M', pid: CPU, name: 'process_sort_index', args: { sort_index: 0 } },
      { ph: 'M', pid: GPU, name: 'process_sort_index', args: { sort_index: 1 } },
    ];
    // GPU times count from the first dispatch's start on the GPU's own clock (or its replay): place that
    // at the submit that carried the first dispatch.
    const first = this.raw[0];
    const gpuOffset = first ? (this.submitMs[first.submit] ?? first.cpuEndMs) : 0;
    for (const d of this.dispatches) {
      const args = { op: d.op, scope: d.scope, shapes: d.shapes.map((x) => `[${x.join(',')}]`).join(' '), workgroups: d.workgroups.join('x'), flops: d.flops, bytes: d.bytes, index: d.index };
      events.push({ ph: 'X', pid: CPU, tid: 1, name: `record ${d.kernel}`, cat: 'record', ts: us(d.cpuMs), dur: us(d.recordMs), args: { index: d.index } });
      events.push({ ph: 'X', pid: GPU, tid: 1, name: d.kernel, cat: d.op, ts: us(gpuOffset + d.gpuStartMs), dur: us(d.gpuMs), args });
      events.push({ ph: 's', pid: CPU, tid: 1, id: d.index, name: 'dispatch', cat: 'flow', ts: us(d.cpuMs) });
      events.push({ ph: 'f', bp: 'e', pid: GPU, tid: 1, id: d.index, name: 'dispatch', cat: 'flow', ts: us(gpuOffset + d.gpuStartMs) });
    }
    for (const e of this.events) {
      const args = e.bytes !== undefined ? { bytes: e.bytes } : {};
      if (e.endMs > e.startMs) events.push({ ph: 'X', pid: CPU, tid: 1, name: e.name, cat: e.kind, ts: us(e.startMs), dur: us(e.endMs - e.startMs), args });
      else events.push({ ph: 'i', s: 't', pid: CPU, tid: 1, name: e.name, cat: e.kind, ts: us(e.startMs), args });
    }
    for (const m of this.memory) events.push({ ph: 'C', pid: CPU, name: 'GPU memory in use', ts: us(m.ms), args: { bytes: m.bytes } });
    return JSON.stringify({ traceEvents: events, displayTimeUnit: 'ms', otherData: { timing: this.timing, wallMs: this.wallMs, gpuMs: this.gpuMs, stats: this.stats } });
  }
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function renderRows(what: string, rows: readonly ProfileRow[], top: number): string {
  const shown = rows.slice(0, top);
  const cells = [
    [`by ${what}`, 'count', 'total ms', 'mean ms', 'share', 'GFLOP/s', 'GB/s'],
    ...shown.map((r) => [
      r.name,
      String(r.count),
      fmt(r.totalMs),
      fmt(r.meanMs),
      `${(r.share * 100).toFixed(1)}%`,
      r.gflops === null ? '' : r.gflops.toFixed(2),
      r.gbps === null ? '' : r.gbps.toFixed(2),
    ]),
  ];
  if (rows.length > shown.length) cells.push([`… ${rows.length - shown.length} more`, '', '', '', '', '', '']);
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')).join('\n');
}
