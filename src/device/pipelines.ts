// Pipeline, bind-group-layout and bind-group caches. A kernel is WGSL text plus the kinds of its bindings;
// shapes travel as uniforms so one pipeline serves every size. Compile errors are collected with their
// line:column messages and the offending source lines, and thrown at the next synchronisation point.

import { COMPUTE_STAGE } from './constants.js';
import { counters } from './counters.js';
import { gpu } from './gpu.js';

/** Binding kinds in binding order, all in @group(0): storage read_write, storage read, or the uniform block. */
export type BindingKind = 'write' | 'read' | 'uniform';

export interface KernelSpec {
  /** Name used in errors and the cache key. */
  readonly name: string;
  /** Complete WGSL text. */
  readonly code: string;
  readonly bindings: readonly BindingKind[];
  /** Values for `override` constants. */
  readonly overrides?: Readonly<Record<string, number>>;
  readonly entryPoint?: string;
  /**
   * A short key that identifies `code` (with name, entry point and overrides), for generated kernels whose
   * text is memoised: the cache then skips hashing the whole source on every dispatch.
   */
  readonly key?: string;
}

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly spec: KernelSpec;
  readonly id: number;
}

const pipelines = new Map<string, CachedPipeline>();
const layouts = new Map<string, GPUBindGroupLayout>();
const bindGroups = new Map<string, GPUBindGroup>();
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
let nextPipelineId = 1;
let cacheGeneration = -1;
const pendingChecks: Promise<string | null>[] = [];

function resetIfNewDevice(): void {
  const g = gpu().generation;
  if (g !== cacheGeneration) {
    pipelines.clear();
    layouts.clear();
    bindGroups.clear();
    cacheGeneration = g;
  }
}

function layoutFor(kinds: readonly BindingKind[]): GPUBindGroupLayout {
  const k = kinds.join(',');
  let layout = layouts.get(k);
  if (!layout) {
    layout = gpu().device.createBindGroupLayout({
      entries: kinds.map((kind, binding) => ({
        binding,
        visibility: COMPUTE_STAGE,
        buffer:
          kind === 'uniform'
            ? { type: 'uniform', hasDynamicOffset: true }
            : { type: kind === 'write' ? 'storage' : 'read-only-storage' },
      })),
    });
    layouts.set(k, layout);
  }
  return layout;
}

function formatCompileError(spec: KernelSpec, messages: readonly GPUCompilationMessage[]): string {
  const lines = spec.code.split('\n');
  const parts = messages
    .filter((m) => m.type === 'error')
    .map((m) => {
      const src = lines[m.lineNum - 1] ?? '';
      return `  ${m.lineNum}:${m.linePos}: ${m.message}\n    | ${src}`;
    });
  return `kiln: WGSL kernel '${spec.name}' failed to compile:\n${parts.join('\n')}`;
}

/** The cached pipeline for a kernel spec, creating it (and queuing its compile check) on first use. */
export function getPipeline(spec: KernelSpec): CachedPipeline {
  resetIfNewDevice();
  const ov = spec.overrides ? JSON.stringify(spec.overrides) : '';
  const cacheKey = spec.key !== undefined ? `key:${spec.key}|${ov}` : `${spec.name}|${spec.entryPoint ?? 'main'}|${ov}|${spec.code}`;
  const hit = pipelines.get(cacheKey);
  if (hit) return hit;
  const { device } = gpu();
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: spec.code, label: spec.name });
  const layout = layoutFor(spec.bindings);
  const pipeline = device.createComputePipeline({
    label: spec.name,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: spec.overrides ?? {} },
  });
  const scope = device.popErrorScope();
  pendingChecks.push(
    module.getCompilationInfo().then(async (info) => {
      const err = await scope;
      const failed = info.messages.some((m) => m.type === 'error');
      // A broken pipeline must not stay cached: every later use would poison its batch again.
      if (failed || err) pipelines.delete(cacheKey);
      if (failed) return formatCompileError(spec, info.messages);
      if (err) return `kiln: pipeline for kernel '${spec.name}' is invalid: ${err.message}`;
      return null;
    }),
  );
  counters.pipelineCompiles += 1;
  const entry: CachedPipeline = { pipeline, layout, spec, id: nextPipelineId++ };
  pipelines.set(cacheKey, entry);
  return entry;
}

/** Waits for pending compile checks; throws the first compile error with its source lines. */
export async function checkCompiles(): Promise<void> {
  if (pendingChecks.length === 0) return;
  const results = await Promise.all(pendingChecks.splice(0, pendingChecks.length));
  const errors = results.filter((r): r is string => r !== null);
  if (errors.length > 0) throw new Error(errors.join('\n'));
}

function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(b, id);
  }
  return id;
}

export interface BufferRange {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

/** Cached bind group for a pipeline and buffer ranges (the uniform range is bound with a dynamic offset). */
export function getBindGroup(p: CachedPipeline, ranges: readonly BufferRange[]): GPUBindGroup {
  let k = `${p.spec.bindings.join(',')}`;
  for (const r of ranges) k += `|${bufferId(r.buffer)}:${r.offset}:${r.size}`;
  let bg = bindGroups.get(k);
  if (!bg) {
    if (bindGroups.size > 8192) bindGroups.clear();
    bg = gpu().device.createBindGroup({
      layout: p.layout,
      entries: ranges.map((r, binding) => ({ binding, resource: { buffer: r.buffer, offset: r.offset, size: r.size } })),
    });
    bindGroups.set(k, bg);
  }
  return bg;
}

/** Forgets bind groups that reference a destroyed buffer's id (called when the pool destroys buffers). */
export function clearBindGroups(): void {
  bindGroups.clear();
}

export function pipelineStats(): { pipelines: number; bindGroups: number } {
  return { pipelines: pipelines.size, bindGroups: bindGroups.size };
}
