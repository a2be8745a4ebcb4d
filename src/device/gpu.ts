// The one live GPUDevice: adapter discovery (navigator.gpu or the `webgpu` package in Node), features,
// limits, error and device-loss plumbing. It owns no buffers or pipelines; see pool.ts and pipelines.ts.

import { isNode } from './host.js';

export interface InitOptions {
  /** 'high-performance' by default. */
  readonly powerPreference?: GPUPowerPreference;
  /** Extra Dawn toggles/options passed to the Node `create()` call (e.g. ['enable-dawn-features=...']). */
  readonly dawnOptions?: readonly string[];
  /** Ask for shader-f16 when the adapter has it (default true). */
  readonly f16?: boolean;
}

export interface DeviceInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly features: readonly string[];
  /** WGSL language features of the implementation (navigator.gpu.wgslLanguageFeatures), e.g. packed_4x8_integer_dot_product. */
  readonly wgslLanguageFeatures: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
  readonly runtime: 'navigator.gpu' | 'webgpu (Dawn, Node)';
  /** The `webgpu` package's version under Node; null for navigator.gpu. */
  readonly runtimeVersion: string | null;
  /** Increments each time a device is created (after a loss, for example). */
  readonly generation: number;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly info: DeviceInfo;
  readonly generation: number;
  readonly hasF16: boolean;
  readonly hasTimestamps: boolean;
  readonly hasSubgroups: boolean;
  lost: string | null;
}

const NO_ADAPTER_HELP =
  'kiln.init: no WebGPU adapter was found. Kiln needs a GPU driver with Vulkan, Metal or D3D12. ' +
  'On a machine without a GPU (Debian 12), install the software Vulkan driver from bookworm-backports: ' +
  "echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list && " +
  'apt-get update && apt-get install -y -t bookworm-backports libvulkan1 mesa-vulkan-drivers ' +
  "(Debian 12's own mesa-vulkan-drivers is too old for Dawn).";

/** Limits the kernels want; each is requested up to what the adapter offers. */
const WANTED_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxDynamicUniformBuffersPerPipelineLayout',
  'maxBindingsPerBindGroup',
] as const;

/** Creates Dawn's GPU object in Node (src/device/dawn.ts); installed by the Node entry, src/node.ts. */
export type DawnLoader = (dawnOptions: readonly string[]) => Promise<{ gpu: GPU; version: string }>;
let dawnLoader: DawnLoader | null = null;

/** Installs the Node WebGPU implementation (called once by src/node.ts). */
export function useDawn(loader: DawnLoader): void {
  dawnLoader = loader;
}

let current: GpuContext | null = null;
let generation = 0;
let pendingInit: Promise<GpuContext> | null = null;
// The object returned by the Node package's create() must stay reachable for the life of the process:
// when it is garbage-collected Dawn tears the instance down under live devices and Node crashes.
let keepAlive: unknown = null;
const uncaptured: string[] = [];

/**
 * The Node package's flags: the caller's, plus Dawn's timestamp quantisation turned off. Quantisation
 * rounds GPU timestamps to guard browsers against timing attacks; in Node it only blurs kiln.profile's
 * per-kernel times, and it touches nothing else. A caller's own disable list is extended, not replaced.
 */
export function dawnFlags(user: readonly string[]): string[] {
  const key = 'disable-dawn-features=';
  const i = user.findIndex((f) => f.startsWith(key));
  if (i < 0) return [...user, `${key}timestamp_quantization`];
  const out = [...user];
  const have = out[i]!.slice(key.length).split(',').filter(Boolean);
  if (!have.includes('timestamp_quantization')) out[i] = key + [...have, 'timestamp_quantization'].join(',');
  return out;
}

let dawnVersion: string | null = null;

async function getGpu(options: InitOptions): Promise<{ gpu: GPU; runtime: DeviceInfo['runtime']; runtimeVersion: string | null }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, runtime: 'navigator.gpu', runtimeVersion: null };
  if (keepAlive === null) {
    if (!isNode()) throw new Error(NO_ADAPTER_HELP);
    // Node reached the browser entry (a deep import, or a bundle built for Node without the "node"
    // condition): load the Node loader by a computed URL, which bundlers leave alone.
    if (dawnLoader === null) {
      const file = './dawn.js';
      dawnLoader = ((await import(/* @vite-ignore */ new URL(file, import.meta.url).href)) as { loadDawn: DawnLoader }).loadDawn;
    }
    const { gpu, version } = await dawnLoader(dawnFlags(options.dawnOptions ?? []));
    keepAlive = gpu;
    dawnVersion = version;
  }
  return { gpu: keepAlive as GPU, runtime: 'webgpu (Dawn, Node)', runtimeVersion: dawnVersion };
}

async function createContext(options: InitOptions): Promise<GpuContext> {
  const { gpu, runtime, runtimeVersion } = await getGpu(options);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups'];
  if (options.f16 !== false) wanted.push('shader-f16');
  const features = wanted.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  const limits = adapter.limits as unknown as Record<string, number>;
  for (const name of WANTED_LIMITS) {
    const v = limits[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  generation += 1;
  const deviceLimits = device.limits as unknown as Record<string, number>;
  const limitRecord: Record<string, number> = {};
  for (const name of [...WANTED_LIMITS, 'minUniformBufferOffsetAlignment', 'minStorageBufferOffsetAlignment', 'maxUniformBufferBindingSize'])
    limitRecord[name] = deviceLimits[name] ?? 0;
  const ai = adapter.info;
  const info: DeviceInfo = {
    vendor: ai.vendor,
    architecture: ai.architecture,
    device: ai.device,
    description: ai.description,
    features: [...device.features].map(String).sort(),
    wgslLanguageFeatures: [...(gpu.wgslLanguageFeatures ?? [])].map(String).sort(),
    limits: limitRecord,
    runtime,
    runtimeVersion,
    generation,
  };
  const ctx: GpuContext = {
    device,
    adapter,
    info,
    generation,
    hasF16: device.features.has('shader-f16'),
    hasTimestamps: device.features.has('timestamp-query'),
    hasSubgroups: device.features.has('subgroups'),
    lost: null,
  };
  device.addEventListener('uncapturederror', (ev) => {
    const e = (ev).error;
    uncaptured.push(`${e.constructor.name}: ${e.message}`);
  });
  void device.lost.then((l) => {
    ctx.lost = `${l.reason}: ${l.message}`;
    if (current === ctx) current = null;
  });
  return ctx;
}

let liveOptions: InitOptions = {};

/** Options given explicitly that differ from those the live (or pending) device was created with. */
function optionConflicts(live: InitOptions, asked: InitOptions): string[] {
  const out: string[] = [];
  const pp = (o: InitOptions): GPUPowerPreference => o.powerPreference ?? 'high-performance';
  if (asked.powerPreference !== undefined && pp(asked) !== pp(live)) out.push(`powerPreference '${pp(live)}' → '${pp(asked)}'`);
  if (asked.f16 !== undefined && asked.f16 !== (live.f16 ?? true)) out.push(`f16 ${live.f16 ?? true} → ${asked.f16}`);
  const dawn = (o: InitOptions): string => JSON.stringify(o.dawnOptions ?? []);
  if (asked.dawnOptions !== undefined && dawn(asked) !== dawn(live)) out.push(`dawnOptions ${dawn(live)} → ${dawn(asked)}`);
  return out;
}

/**
 * Creates the device on first call; later calls return the same live device (a new one after a loss).
 * Options shape the device when it is created, so a later call asking for different ones is an error
 * rather than silently ignored; a call without options accepts whatever device is live.
 */
export async function initGpu(options: InitOptions = {}): Promise<GpuContext> {
  if ((current && current.lost === null) || pendingInit) {
    const conflicts = optionConflicts(liveOptions, options);
    if (conflicts.length > 0)
      throw new Error(
        `kiln.init: the device was already created with other options (${conflicts.join(', ')}); ` +
          'options apply only when the device is created: pass them to the first init() call',
      );
  }
  if (current && current.lost === null) return current;
  if (pendingInit) return pendingInit;
  liveOptions = { ...options };
  pendingInit = createContext(options).then(
    (ctx) => {
      current = ctx;
      pendingInit = null;
      return ctx;
    },
    (err: unknown) => {
      pendingInit = null;
      throw err;
    },
  );
  return pendingInit;
}

/** The live context; throws with a clear message before init or after a loss. */
export function gpu(op = 'kiln'): GpuContext {
  if (current === null) {
    throw new Error(`${op}: no live WebGPU device: call \`await kiln.init()\` first (again after a device loss).`);
  }
  return current;
}

/** Errors Dawn reported outside an error scope since the last call; empties the list. */
export function takeUncapturedErrors(): string[] {
  return uncaptured.splice(0, uncaptured.length);
}
