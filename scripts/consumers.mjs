// Installs the packed package (npm pack) into fresh consumer projects and runs a matmul + backward in
// each: ESM, CommonJS (require of the ESM build), strict TypeScript (skipLibCheck false, types []), and a
// Vite browser app in headless Chromium — the last without `webgpu` installed, where Node's init() must
// say how to install it and the bundle must build without a Node-module warning.
// Run: npm run test:consumers (needs the npm registry for dependencies, Debian's chromium for the browser).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireChromium, runPage } from './lib/chromium.mjs';

const repo = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'kiln-consumers-'));
const results = [];

function sh(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
}
function project(dir, files) {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), typeof text === 'string' ? text : JSON.stringify(text, null, 2));
}
async function check(name, fn) {
  const t0 = performance.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`);
  }
}

// The program every consumer runs: y = sum(x @ w); dL/dw[i][j] = Σ_r x[r][i], dL/dx[r][i] = Σ_j w[i][j].
const body = `
  await kiln.init();
  const x = kiln.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
  const w = kiln.tensor([[0.5, -1], [0.25, 2], [-0.5, 1]], { requiresGrad: true });
  const y = kiln.matmul(x, w).sum();
  y.backward();
  const got = { version: kiln.version, loss: await y.item(), gw: Array.from(await w.grad.data()), gx: Array.from(await x.grad.data()) };
  const want = { version: ${JSON.stringify(pkg.version)}, loss: 17.75, gw: [5, 5, 7, 7, 9, 9], gx: [-0.5, 2.25, 0.5, -0.5, 2.25, 0.5] };
  const ok = got.version === want.version && Math.abs(got.loss - want.loss) < 1e-5 && [...got.gw, ...got.gx].every((v, i) => Math.abs(v - ([...want.gw, ...want.gx][i] ?? NaN)) < 1e-5);
`;
const report = `console.log(JSON.stringify(got));\nif (!ok) throw new Error('wrong result: ' + JSON.stringify(got));\n`;

console.log(`consumers in ${work}`);
const packed = sh('npm', ['pack', '--silent', '--pack-destination', work], repo).trim().split('\n').pop();
const tarball = join(work, packed);
console.log(`packed ${packed}`);

// Node consumers share one install in node/ (node resolution walks up from node/esm, node/cjs, node/ts).
const node = join(work, 'node');
project(node, { 'package.json': { name: 'node-consumers', private: true } });
await check('install (tarball + webgpu)', () => sh('npm', ['install', '--no-audit', '--no-fund', tarball, `webgpu@${pkg.devDependencies.webgpu}`], node));

await check('ESM consumer', () => {
  project(join(node, 'esm'), {
    'package.json': { type: 'module' },
    'main.mjs': `import * as kiln from 'kiln-gpu';\n${body}\n${report}`,
  });
  sh('node', ['main.mjs'], join(node, 'esm'));
});

await check('CommonJS consumer (require)', () => {
  project(join(node, 'cjs'), {
    'package.json': { type: 'commonjs' },
    'main.cjs': `const kiln = require('kiln-gpu');\n(async () => {${body}\n${report}})();\n`,
  });
  sh('node', ['main.cjs'], join(node, 'cjs'));
});

await check('strict TypeScript consumer', () => {
  const ts = join(node, 'ts');
  project(ts, {
    'package.json': { type: 'module' },
    'tsconfig.json': {
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: [],
        noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, outDir: 'out',
      },
      include: ['main.ts'],
    },
    // Typed without casts: data() of an f32 tensor is a Float32Array.
    'main.ts': `import * as kiln from 'kiln-gpu';\n${body.replace(/\.grad\./g, '.grad!.')}\nconst typed: Float32Array = await kiln.randn([2]).data();\nvoid typed;\nconst gw: Float32Array = await w.grad!.data();\nvoid gw;\n${report}`,
  });
  sh('node', [join(repo, 'node_modules/typescript/bin/tsc'), '-p', ts], ts);
  // @internal members are stripped from the published declarations.
  const dts = readFileSync(join(node, 'node_modules/kiln-gpu/dist/tensor/tensor.d.ts'), 'utf8');
  for (const name of ['operand(', 'attachGradFn(', 'withLayout(', 'bumpVersion(']) if (dts.includes(name)) throw new Error(`tensor.d.ts exposes the internal ${name}`);
  sh('node', ['out/main.js'], ts);
});

// The browser app installs the tarball alone: no Dawn download.
const web = join(work, 'web');
project(web, {
  'package.json': { name: 'web-consumer', private: true, type: 'module' },
  'index.html': `<!doctype html>\n<meta charset="utf-8">\n<script type="module">\nimport * as kiln from 'kiln-gpu';\nconst out = { ok: false };\ntry {\n${body.replace(/\.grad\./g, '.grad.')}\n  Object.assign(out, got, { ok });\n} catch (e) { out.error = String(e && e.stack || e); }\nwindow.__kilnResult = out;\n</script>\n`,
  'no-webgpu.mjs': `import * as kiln from 'kiln-gpu';\ntry { await kiln.init(); console.log('init succeeded without webgpu'); process.exit(1); }\ncatch (e) { console.log(e.message); process.exit(/npm install webgpu/.test(e.message) ? 0 : 1); }\n`,
});
await check('browser app install has no webgpu', () => {
  sh('npm', ['install', '--no-audit', '--no-fund', tarball], web);
  if (existsSync(join(web, 'node_modules/webgpu'))) throw new Error('node_modules/webgpu was installed');
});
await check('Node without webgpu: init() names the install', () => sh('node', ['no-webgpu.mjs'], web));
await check('Vite browser build + headless Chromium', async () => {
  requireChromium();
  const { build } = await import('vite');
  const warnings = [];
  await build({
    root: web, logLevel: 'silent', configFile: false,
    build: { outDir: join(web, 'dist'), emptyOutDir: true, target: 'es2022', rollupOptions: { onwarn: (w) => warnings.push(String(w.message ?? w)) } },
  });
  const nodeWarnings = warnings.filter((w) => /node:|externalized for browser|webgpu/.test(w));
  if (nodeWarnings.length) throw new Error(`Vite warned about Node modules:\n${nodeWarnings.join('\n')}`);
  const bundle = readdirSync(join(web, 'dist/assets')).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(web, 'dist/assets', f), 'utf8')).join('\n');
  if (/from\s*["']webgpu["']|import\(["']webgpu["']\)/.test(bundle)) throw new Error('the browser bundle imports webgpu');
  const r = await runPage(join(web, 'dist'), 'index.html', { log: () => {} });
  if (!r.ok) throw new Error(JSON.stringify(r));
});

const failed = results.filter((r) => !r.ok).length;
console.log(`consumers: ${results.length - failed} passed, ${failed} failed`);
if (!failed) rmSync(work, { recursive: true, force: true }); // kept on failure, for inspection
process.exit(failed ? 1 : 0);
