#!/usr/bin/env node
// The shape of the code, enforced (run by `npm run lint`): which folders of src/ may import which, and no
// import cycle outside src/tensor. Type-only imports are erased at build time and are not counted.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

const ENGINE = ['tensor', 'autograd', 'kernels', 'device'];
const LIBRARIES = ['nn', 'optim', 'data', 'text', 'io', 'models', 'train', 'cli', 'profile', 'amp', 'quantize'];
// Libraries reach the GPU through the tensor layer, not the device. src/io reads device limits and features
// to size and type what it allocates before any tensor exists; src/profile instruments the device itself;
// `kiln env` (src/cli) reports the adapter. device/host.ts, the one door to Node's built-ins, is open to all.
const MAY_IMPORT_DEVICE = new Set(['io', 'profile', 'cli']);
const OPEN_TO_ALL = new Set(['device/host.ts']);
/** What src/models and src/train may import besides their own folder: the public API only. */
// src/quantize: the public API, and the int8 kernels it launches through kiln.customOp.
const PUBLIC_ENTRY = { models: ['public.ts'], train: ['public.ts', 'models/index.ts'], quantize: ['public.ts', 'kernels/matmul-int8.ts'] };

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Runtime (not type-only) relative imports of a file, as src-relative paths. */
function imports(file) {
  const text = readFileSync(file, 'utf8');
  const out = [];
  const re = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    if (m[1]) continue;
    const spec = m[2] ?? m[3];
    const target = relative(src, resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    out.push(target);
  }
  return out;
}

const top = (p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : p);
const errors = [];
const graph = new Map();
for (const file of files(src)) {
  const from = relative(src, file);
  const deps = imports(file);
  graph.set(from, deps);
  const area = top(from);
  for (const to of deps) {
    const target = top(to);
    if (ENGINE.includes(area) && LIBRARIES.includes(target)) errors.push(`${from}: the engine layer '${area}' must not import the library '${target}' (${to})`);
    if (LIBRARIES.includes(area) && target === 'device' && !MAY_IMPORT_DEVICE.has(area) && !OPEN_TO_ALL.has(to)) errors.push(`${from}: '${area}' reaches into src/device (${to}); go through the tensor layer`);
    const allowed = PUBLIC_ENTRY[area];
    if (allowed && target !== area && !allowed.includes(to)) errors.push(`${from}: '${area}' may import only the public API (${allowed.join(', ')}), not ${to}`);
  }
}

// Tarjan's strongly connected components: a cycle is a component of more than one file.
let index = 0;
const stack = [];
const info = new Map();
function visit(v) {
  info.set(v, { index, low: index, onStack: true });
  index += 1;
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!info.has(w)) {
      visit(w);
      info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
    } else if (info.get(w).onStack) info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
  }
  if (info.get(v).low === info.get(v).index) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      info.get(w).onStack = false;
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 && comp.some((f) => top(f) !== 'tensor')) errors.push(`import cycle outside src/tensor: ${comp.sort().join(' ↔ ')}`);
  }
}
for (const v of graph.keys()) if (!info.has(v)) visit(v);

if (errors.length) {
  console.error(`check-imports: ${errors.length} violation(s):\n  ${errors.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-imports: ${graph.size} files, layering and cycles OK`);
