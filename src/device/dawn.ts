// Node only: loads Dawn (the `webgpu` package, an optional peer dependency) and creates its GPU object.
// The Node entry (src/node.ts) installs this loader; browser builds select src/index.ts and never see it.

import type { DawnLoader } from './gpu.js';

const INSTALL_HINT =
  "kiln.init: WebGPU in Node needs the 'webgpu' package (Dawn), an optional peer dependency of kiln-gpu " +
  'that browsers do not need. Install it next to kiln-gpu: npm install webgpu';

interface DawnModule {
  create: (options: string[]) => GPU;
  globals: object;
}

/** Imports `webgpu`, installs its globals (GPUBufferUsage, …) and creates the GPU object. */
export const loadDawn: DawnLoader = async (dawnOptions) => {
  let mod: DawnModule;
  try {
    mod = await import('webgpu');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new Error(INSTALL_HINT, { cause: e });
    throw new Error(`kiln.init: the 'webgpu' package (Dawn) failed to load: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!process.env['XDG_RUNTIME_DIR']) process.env['XDG_RUNTIME_DIR'] = '/tmp';
  Object.assign(globalThis, mod.globals);
  let version = 'unknown';
  try {
    const { createRequire } = await import('node:module');
    version = (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
  } catch {
    // The version only labels tuning caches and `kiln env`; Dawn itself loaded.
  }
  return { gpu: mod.create([...dawnOptions]), version };
};
