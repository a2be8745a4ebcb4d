// Copies the WGSL sources next to the compiled launchers, so `new URL('./x.wgsl', import.meta.url)` resolves in dist/.
import { cpSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
const from = 'src/kernels/wgsl';
const to = 'dist/kernels/wgsl';
mkdirSync(to, { recursive: true });
for (const f of readdirSync(from)) if (f.endsWith('.wgsl')) cpSync(join(from, f), join(to, f));
