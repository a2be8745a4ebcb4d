// `kiln env`: what to paste into a bug report — Kiln, Node and Dawn versions, the adapter and its driver,
// every feature and limit the adapter offers (and which ones Kiln's device enabled). Creates the device.

import { gpu } from '../device/gpu.js';
import { init } from '../node.js';
import { version } from '../version.js';
import { parseOptions } from './args.js';
import type { Command } from './command.js';

const usage = `usage: kiln env [--json]

Creates the WebGPU device as kiln.init() does and prints Kiln's version, Node's and the webgpu (Dawn)
package's, the adapter (vendor, architecture, device), its driver, every feature and limit the adapter
offers, and which features Kiln's device enabled. Paste it into bug reports.

  --json                one JSON object instead of text`;

export interface EnvReport {
  readonly kiln: string;
  readonly node: string;
  readonly platform: string;
  readonly webgpu: string;
  readonly runtime: string;
  readonly adapter: { readonly vendor: string; readonly architecture: string; readonly device: string; readonly isFallbackAdapter: boolean };
  /** Vulkan/Metal/D3D12 driver as the adapter describes itself (adapter.info.description). */
  readonly driver: string;
  readonly features: { readonly adapter: readonly string[]; readonly enabled: readonly string[] };
  readonly limits: Readonly<Record<string, number>>;
}

/** Collects the report (creates the device). */
export async function envReport(): Promise<EnvReport> {
  const info = await init();
  const { adapter } = gpu('kiln env');
  const limits: Record<string, number> = {};
  // GPUSupportedLimits exposes its values as prototype getters, so Object.keys sees none of them.
  for (let o: object | null = adapter.limits; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const v: unknown = (adapter.limits as unknown as Record<string, unknown>)[name];
      if (typeof v === 'number' && !(name in limits)) limits[name] = v;
    }
  }
  const ai = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    kiln: version,
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    webgpu: info.runtimeVersion ?? 'not used',
    runtime: info.runtime,
    adapter: { vendor: ai.vendor, architecture: ai.architecture, device: ai.device, isFallbackAdapter: ai.isFallbackAdapter ?? false },
    driver: ai.description,
    features: { adapter: [...adapter.features].map(String).sort(), enabled: info.features },
    limits: Object.fromEntries(Object.entries(limits).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The report as aligned text lines. */
export function formatEnv(r: EnvReport): string[] {
  const enabled = new Set(r.features.enabled);
  const width = Math.max(...Object.keys(r.limits).map((k) => k.length));
  return [
    `kiln      ${r.kiln}`,
    `node      ${r.node} (${r.platform})`,
    `webgpu    ${r.webgpu} (${r.runtime})`,
    `adapter   ${r.adapter.vendor} / ${r.adapter.architecture} / ${r.adapter.device}${r.adapter.isFallbackAdapter ? ' (fallback adapter)' : ''}`,
    `driver    ${r.driver}`,
    `features  ${r.features.adapter.map((f) => (enabled.has(f) ? `${f}*` : f)).join(' ')}`,
    '          (* enabled on Kiln\'s device)',
    'limits',
    ...Object.entries(r.limits).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ];
}

export const env: Command = {
  name: 'env',
  summary: 'print versions, the WebGPU adapter, its driver, features and limits (for bug reports)',
  usage,
  async run(args, io) {
    const { values } = parseOptions(args, { json: { type: 'boolean' } });
    const report = await envReport();
    if (values.json === true) io.out(JSON.stringify(report, null, 2));
    else for (const line of formatEnv(report)) io.out(line);
    return 0;
  },
};
