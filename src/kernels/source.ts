// Loads hand-written WGSL sources (`src/kernels/wgsl/*.wgsl`) once, at init. A source is referenced with
// `new URL('./wgsl/x.wgsl', import.meta.url)`, which Node resolves to a file and bundlers to an asset.

import { nodeImport } from '../device/host.js';

export interface WgslSource {
  readonly name: string;
  /** The WGSL text; throws before `kiln.init()` has loaded it. */
  text(): string;
}

const registry = new Map<string, { url: URL; text: string | null }>();

/** Declares a WGSL source file; its text is loaded by `loadWgslSources()` during init. */
export function wgslFile(name: string, url: URL): WgslSource {
  registry.set(name, { url, text: null });
  return {
    name,
    text(): string {
      const entry = registry.get(name);
      if (!entry || entry.text === null) throw new Error(`kiln: WGSL source '${name}' is not loaded: call \`await kiln.init()\` first`);
      return entry.text;
    },
  };
}

async function readUrl(url: URL): Promise<string> {
  if (url.protocol === 'file:') {
    const fs = await nodeImport<typeof import('node:fs/promises')>('node:fs/promises');
    return fs.readFile(url, 'utf8');
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`kiln: could not load WGSL source ${url.href}: HTTP ${res.status}`);
  return res.text();
}

export async function loadWgslSources(): Promise<void> {
  await Promise.all(
    [...registry.values()].filter((e) => e.text === null).map(async (e) => {
      e.text = await readUrl(e.url);
    }),
  );
}

/**
 * The one-line prelude a hand-written kernel is specialised with: `enable` directives (f16, and any
 * other extension such as subgroups, which must precede every declaration) and type aliases.
 */
export function prelude(aliases: Readonly<Record<string, string>>, f16: boolean, extensions: readonly string[] = []): string {
  const parts = [...(f16 ? ['f16'] : []), ...extensions].map((e) => `enable ${e};`);
  for (const [k, v] of Object.entries(aliases)) parts.push(`alias ${k} = ${v};`);
  return parts.join(' ') + '\n';
}
