// The device side of kiln.profile: while a session is installed in the probe, every dispatch runs in its
// own compute pass whose timestamp writes land in query sets of 4,096 queries, resolved and read back when
// the session ends. Without timestamps (the flush-and-time fallback) each recorded dispatch is replayed
// alone afterwards on zeroed scratch buffers of the same sizes, and timed from submit to completion on the
// CPU clock. It also logs submits, readbacks, compiles, buffer creations and memory in use.

import { Usage } from './constants.js';
import { gpu } from './gpu.js';
import type { BufferRange, CachedPipeline } from './pipelines.js';
import { type DispatchInfo, type DispatchWork, type Recorder, probe } from './probe.js';

/** How dispatches are timed: GPU timestamp queries, or the flush-and-time fallback. */
export type Timing = 'timestamps' | 'flush';

/** WebGPU's limit on the queries of one query set. */
export const QUERIES_PER_SET = 4096;

export interface RawDispatch {
  readonly kernel: string;
  readonly work: DispatchWork | undefined;
  readonly workgroups: readonly [number, number, number];
  /** When the CPU recorded it (ms since the session started). */
  readonly cpuStartMs: number;
  readonly cpuEndMs: number;
  /** The submit (counted from 0 within the session) that carried it. */
  readonly submit: number;
  /** The kiln.recordFunction ranges it ran in, joined with '/', or null. */
  readonly scope: string | null;
  /** When the GPU ran it (ms since the first dispatch began; flush: its replay, laid end to end). */
  gpuStartMs: number;
  gpuEndMs: number;
}

export interface CpuEvent {
  readonly kind: 'submit' | 'readback' | 'compile' | 'buffer' | 'range';
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly bytes?: number;
}

export interface MemorySample {
  readonly ms: number;
  /** Bytes the pool had handed out (tensors, saved tensors, kernel scratch, staging). */
  readonly bytes: number;
}

interface Replay {
  readonly pipeline: CachedPipeline;
  readonly buffers: readonly BufferRange[];
  readonly uniforms: Uint8Array<ArrayBuffer> | null;
  readonly uniformAt: number;
}

/** A replayed kernel shorter than this is repeated within one submit, up to REPLAY_MAX_REPEAT times. */
const REPLAY_TARGET_MS = 1;
const REPLAY_MAX_REPEAT = 32;
const SCRATCH_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

export class ProfileSession implements Recorder {
  readonly dispatches: RawDispatch[] = [];
  readonly events: CpuEvent[] = [];
  readonly memoryTimeline: MemorySample[] = [];
  /** CPU time (ms since start) of each submit. */
  readonly submitMs: number[] = [];
  private readonly t0 = performance.now();
  private readonly sets: GPUQuerySet[] = [];
  private used = QUERIES_PER_SET;
  /** The dispatch being recorded, and its first timestamp query (its index across all the sets). */
  private current: { info: DispatchInfo; start: number; query: number; replay: Replay | null } | null = null;
  /** Per recorded dispatch: its first timestamp query. */
  private readonly queries: number[] = [];
  private readonly open: { name: string; start: number }[] = [];
  private scope: string | null = null;
  /** Flush fallback: what each dispatch needs to run again alone. */
  private readonly replays: Replay[] = [];
  private readonly device: GPUDevice;
  private readonly generation: number;
  /** Flush fallback: the CPU's latency for an empty submit, taken off each replay's time. */
  latencyMs = 0;

  constructor(readonly timing: Timing) {
    const ctx = gpu('profile');
    this.device = ctx.device;
    this.generation = ctx.generation;
  }

  now(): number {
    return performance.now() - this.t0;
  }

  install(): void {
    if (probe.recorder !== null) throw new Error('kiln.profile: a profile is already running; profiles do not nest');
    probe.recorder = this;
  }

  uninstall(): void {
    if (probe.recorder === this) probe.recorder = null;
  }

  beginDispatch(info: DispatchInfo): GPUComputePassDescriptor | undefined {
    this.current = { info, start: this.now(), query: -1, replay: null };
    if (this.timing === 'flush') {
      const u = info.uniforms;
      let bytes: Uint8Array<ArrayBuffer> | null = null;
      if (u !== undefined) {
        bytes = new Uint8Array(256);
        bytes.set(ArrayBuffer.isView(u) ? new Uint8Array(u.buffer, u.byteOffset, u.byteLength) : new Uint8Array(u));
      }
      this.current.replay = { pipeline: info.pipeline, buffers: info.buffers, uniforms: bytes, uniformAt: info.uniformAt };
      return undefined;
    }
    if (this.used === QUERIES_PER_SET) {
      this.sets.push(this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET, label: 'kiln-profile' }));
      this.used = 0;
    }
    const q = this.used;
    this.used += 2;
    this.current.query = (this.sets.length - 1) * QUERIES_PER_SET + q;
    return { timestampWrites: { querySet: this.sets[this.sets.length - 1]!, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } };
  }

  endDispatch(): void {
    const c = this.current;
    if (c === null) return;
    this.current = null;
    const { kernel, work, workgroups } = c.info;
    this.queries.push(c.query);
    if (c.replay !== null) this.replays.push(c.replay);
    this.dispatches.push({ kernel, work, workgroups, cpuStartMs: c.start, cpuEndMs: this.now(), submit: this.submitMs.length, scope: this.scope, gpuStartMs: 0, gpuEndMs: 0 });
  }

  submitted(): void {
    const t = this.now();
    this.submitMs.push(t);
    this.events.push({ kind: 'submit', name: 'submit', startMs: t, endMs: t });
  }

  readback(bytes: number, startMs: number, endMs: number): void {
    this.events.push({ kind: 'readback', name: 'readback', startMs: startMs - this.t0, endMs: endMs - this.t0, bytes });
  }

  bufferCreated(bytes: number): void {
    const t = this.now();
    this.events.push({ kind: 'buffer', name: 'createBuffer', startMs: t, endMs: t, bytes });
  }

  pipelineCompiled(kernel: string, startMs: number, endMs: number): void {
    this.events.push({ kind: 'compile', name: `compile ${kernel}`, startMs: startMs - this.t0, endMs: endMs - this.t0 });
  }

  memory(bytes: number): void {
    this.memoryTimeline.push({ ms: this.now(), bytes });
  }

  enter(name: string): void {
    this.open.push({ name, start: this.now() });
    this.scope = this.open.map((r) => r.name).join('/');
  }

  exit(): void {
    const r = this.open.pop();
    if (r === undefined) return;
    this.events.push({ kind: 'range', name: r.name, startMs: r.start, endMs: this.now() });
    this.scope = this.open.length > 0 ? this.open.map((x) => x.name).join('/') : null;
  }

  /** Fills in every dispatch's GPU times (all its work must have been submitted), then frees the query sets. */
  async resolve(): Promise<void> {
    try {
      if (this.timing === 'flush') await this.resolveReplayed();
      else await this.resolveTimestamps();
    } finally {
      this.discard();
    }
  }

  /** Frees the query sets (after every command that writes them was submitted). */
  discard(): void {
    for (const s of this.sets) s.destroy();
    this.sets.length = 0;
  }

  /**
   * Flush fallback: each dispatch again, alone, with the same pipeline, grid, uniforms and binding sizes on
   * zeroed scratch buffers (so no tensor is touched), timed from submit to completion less the latency of an
   * empty submit. A short kernel is repeated within one submit until the batch takes about REPLAY_TARGET_MS,
   * so that the latency does not swamp it; the best of three counts. Kernels whose time depends on the data are timed on zeros.
   */
  private async resolveReplayed(): Promise<void> {
    const { device } = this;
    if (gpu('profile').generation !== this.generation) throw new Error('profile: the device was lost during the profile');
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      device.queue.submit([device.createCommandEncoder().finish()]);
      await device.queue.onSubmittedWorkDone();
      idle.push(performance.now() - t);
    }
    this.latencyMs = Math.min(...idle);
    const uniform = device.createBuffer({ size: 256, usage: Usage.UNIFORM | Usage.COPY_DST, label: 'kiln-profile-uniforms' });
    const scratch = new Map<number, GPUBuffer[]>();
    let clock = 0;
    try {
      for (let i = 0; i < this.dispatches.length; i++) {
        const d = this.dispatches[i]!;
        const r = this.replays[i]!;
        // Same aliasing as the original: one scratch buffer per distinct buffer it bound.
        const taken = new Map<GPUBuffer, GPUBuffer>();
        const used = new Map<number, number>();
        const scratchFor = (b: GPUBuffer): GPUBuffer => {
          let s = taken.get(b);
          if (s) return s;
          const list = scratch.get(b.size) ?? [];
          scratch.set(b.size, list);
          const n = used.get(b.size) ?? 0;
          used.set(b.size, n + 1);
          s = list[n] ?? device.createBuffer({ size: b.size, usage: SCRATCH_USAGE, label: 'kiln-profile-scratch' });
          list[n] = s;
          taken.set(b, s);
          return s;
        };
        // The uniform sits at r.uniformAt; storage bindings after it move up one.
        const after = r.uniforms !== null ? 1 : 0;
        const entries: GPUBindGroupEntry[] = r.buffers.map((x, i) => ({ binding: i < r.uniformAt ? i : i + after, resource: { buffer: scratchFor(x.buffer), offset: x.offset, size: x.size } }));
        if (r.uniforms !== null) {
          device.queue.writeBuffer(uniform, 0, r.uniforms);
          entries.push({ binding: r.uniformAt, resource: { buffer: uniform, offset: 0, size: 256 } });
        }
        const group = device.createBindGroup({ layout: r.pipeline.layout, entries });
        const run = async (times: number): Promise<number> => {
          const encoder = device.createCommandEncoder({ label: 'kiln-profile-replay' });
          const pass = encoder.beginComputePass();
          pass.setPipeline(r.pipeline.pipeline);
          pass.setBindGroup(0, group, r.uniforms !== null ? [0] : []);
          for (let k = 0; k < times; k++) pass.dispatchWorkgroups(...d.workgroups);
          pass.end();
          const commands = encoder.finish();
          const t = performance.now();
          device.queue.submit([commands]);
          await device.queue.onSubmittedWorkDone();
          return Math.max(0, performance.now() - t - this.latencyMs) / times;
        };
        // The best of three: load on the CPU only ever adds to a submit's round trip.
        const best = async (times: number): Promise<number> => Math.min(await run(times), await run(times), await run(times));
        let ms = await best(1);
        const times = Math.min(REPLAY_MAX_REPEAT, Math.ceil(REPLAY_TARGET_MS / Math.max(ms, REPLAY_TARGET_MS / REPLAY_MAX_REPEAT)));
        if (times > 1) ms = await best(times);
        d.gpuStartMs = clock;
        d.gpuEndMs = clock + ms;
        clock += ms;
      }
    } finally {
      uniform.destroy();
      for (const list of scratch.values()) for (const b of list) b.destroy();
    }
  }

  private async resolveTimestamps(): Promise<void> {
    if (this.sets.length === 0) return;
    const { device } = this;
    const encoder = device.createCommandEncoder({ label: 'kiln-profile-resolve' });
    const reads = this.sets.map((set, i) => {
      const count = i === this.sets.length - 1 ? this.used : QUERIES_PER_SET;
      const resolved = device.createBuffer({ size: count * 8, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC });
      const read = device.createBuffer({ size: count * 8, usage: Usage.MAP_READ | Usage.COPY_DST });
      encoder.resolveQuerySet(set, 0, count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, read, 0, count * 8);
      return { resolved, read };
    });
    device.queue.submit([encoder.finish()]);
    const stamps: bigint[] = [];
    for (const { resolved, read } of reads) {
      await read.mapAsync(0x0001);
      stamps.push(...new BigUint64Array(read.getMappedRange().slice(0)));
      read.unmap();
      read.destroy();
      resolved.destroy();
    }
    const origin = stamps[0] ?? 0n;
    this.dispatches.forEach((d, i) => {
      const q = this.queries[i]!;
      const b = stamps[q];
      const e = stamps[q + 1];
      if (b === undefined || e === undefined) return;
      d.gpuStartMs = Number(b - origin) / 1e6;
      // A pass whose end stamp is not after its start (a failed batch) counts as taking no time.
      d.gpuEndMs = Math.max(d.gpuStartMs, Number(e - origin) / 1e6);
    });
  }
}
