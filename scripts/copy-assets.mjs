// Copies the non-TypeScript sources the compiled code loads by `new URL(..., import.meta.url)` into dist/:
// WGSL kernels and the model configs (JSON), so dist/ resolves them as src/ does.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const copies = [
  ['src/kernels/wgsl', 'dist/kernels/wgsl', '.wgsl'],
  ['src/models/configs', 'dist/models/configs', '.json'],
];
for (const [from, to, ext] of copies) {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (f.endsWith(ext)) cpSync(join(from, f), join(to, f));
}
