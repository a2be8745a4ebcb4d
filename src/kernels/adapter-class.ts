// The adapter class every kernel choice is keyed by: what kind of processor runs the kernels (software,
// integrated or discrete GPU), its subgroup sizes, features and the limits the kernels care about, derived
// from the adapter's info by pure functions (unit-tested with made-up infos, no GPU). Not the choices
// themselves: those are in select.ts and beside each kernel's launcher.

import { gpu } from '../device/gpu.js';

/** What an adapter says about itself (GPUAdapterInfo plus the device's features and limits). */
export interface AdapterFacts {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** GPUAdapterInfo.subgroupMinSize / subgroupMaxSize, where the implementation reports them. */
  readonly subgroupMinSize?: number | undefined;
  readonly subgroupMaxSize?: number | undefined;
  /** GPUAdapterInfo.isFallbackAdapter (a software implementation), where reported. */
  readonly isFallbackAdapter?: boolean | undefined;
  /** The device's enabled features. */
  readonly features: readonly string[];
  /** The device's limits (as requested up to what the adapter offers, src/device/gpu.ts). */
  readonly limits: Readonly<Record<string, number>>;
}

/**
 * software: a CPU runs the kernels (llvmpipe, SwiftShader, WARP). integrated: a GPU sharing the host's
 * memory (Apple, Intel's integrated parts, AMD APUs, mobile GPUs). discrete: a GPU with its own memory.
 * unknown: the implementation hides its identity (browsers may): treated like a GPU.
 */
export type AdapterKind = 'software' | 'integrated' | 'discrete' | 'unknown';

export interface AdapterClass {
  readonly kind: AdapterKind;
  readonly vendor: string;
  /** Subgroup size range when the device has the `subgroups` feature and the adapter reports sizes. */
  readonly subgroups: { readonly min: number; readonly max: number } | null;
  readonly f16: boolean;
  /** maxComputeWorkgroupStorageSize in bytes (16 KiB is the WebGPU default). */
  readonly workgroupStorage: number;
  /** maxComputeInvocationsPerWorkgroup (256 is the WebGPU default). */
  readonly invocations: number;
  /**
   * The tuning cache's adapter key: the identity (vendor, architecture, device, description), subgroup
   * sizes and f16, so a driver that reports other subgroup sizes is a different class.
   */
  readonly key: string;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b|basic render|microsoft basic/i;
const INTEGRATED_VENDORS = /^(apple|arm|qualcomm|imagination|img-tec|samsung|broadcom|mali|adreno|powervr)/i;
// Intel's discrete parts (Arc: Alchemist, Battlemage) versus everything else Intel ships (integrated).
const INTEL_DISCRETE = /\barc\b|xe-hpg|alchemist|battlemage|dg2|xe2-hpg/i;
// AMD APUs report "Radeon Graphics" / "Radeon(TM) Graphics" or an integrated architecture name.
const AMD_INTEGRATED = /radeon(\(tm\))? graphics|vega \d+\b|\bapu\b|rembrandt|phoenix|raphael|renoir|cezanne|van ?gogh/i;

/** The kind of processor behind an adapter, from its info alone. */
export function adapterKind(f: AdapterFacts): AdapterKind {
  const text = `${f.vendor} ${f.architecture} ${f.device} ${f.description}`;
  if (f.isFallbackAdapter === true || f.architecture === 'software' || f.vendor === 'mesa' || SOFTWARE.test(text)) return 'software';
  const vendor = f.vendor.toLowerCase();
  if (vendor === 'nvidia') return 'discrete';
  if (vendor === 'intel') return INTEL_DISCRETE.test(text) ? 'discrete' : 'integrated';
  if (vendor === 'amd' || vendor === 'ati') return AMD_INTEGRATED.test(text) ? 'integrated' : 'discrete';
  if (INTEGRATED_VENDORS.test(vendor)) return 'integrated';
  return 'unknown';
}

/** The adapter class of `f` (pure: the same facts always give the same class). */
export function adapterClass(f: AdapterFacts): AdapterClass {
  const min = f.subgroupMinSize ?? 0;
  const max = f.subgroupMaxSize ?? 0;
  const subgroups = f.features.includes('subgroups') && min > 0 && max >= min ? { min, max } : null;
  const f16 = f.features.includes('shader-f16');
  return {
    kind: adapterKind(f),
    vendor: f.vendor,
    subgroups,
    f16,
    workgroupStorage: f.limits['maxComputeWorkgroupStorageSize'] || 16384,
    invocations: f.limits['maxComputeInvocationsPerWorkgroup'] || 256,
    key: JSON.stringify([f.vendor, f.architecture, f.device, f.description, subgroups ? [min, max] : null, f16]),
  };
}

/** Whether the adapter's subgroups are all exactly `n` lanes (kernels that map one workgroup to one subgroup). */
export function subgroupsExactly(c: AdapterClass, n: number): boolean {
  return c.subgroups !== null && c.subgroups.min === n && c.subgroups.max === n;
}

/** Whether subgroups of ≥ 8 lanes always tile a workgroup of `wg` invocations (max size divides wg). */
export function subgroupsTile(c: AdapterClass, wg: number): boolean {
  return c.subgroups !== null && c.subgroups.min >= 8 && wg % c.subgroups.max === 0;
}

let classCache: { generation: number; cls: AdapterClass } | null = null;
/** The live device's adapter class (computed once per device). */
export function currentAdapterClass(): AdapterClass {
  const ctx = gpu('kernel selection');
  if (classCache?.generation === ctx.generation) return classCache.cls;
  const ai = ctx.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean };
  const cls = adapterClass({
    vendor: ctx.info.vendor,
    architecture: ctx.info.architecture,
    device: ctx.info.device,
    description: ctx.info.description,
    subgroupMinSize: ai.subgroupMinSize,
    subgroupMaxSize: ai.subgroupMaxSize,
    isFallbackAdapter: ai.isFallbackAdapter,
    features: ctx.info.features,
    limits: ctx.info.limits,
  });
  classCache = { generation: ctx.generation, cls };
  return cls;
}
