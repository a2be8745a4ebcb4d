// Runs tests/browser/smoke.html in headless Chromium (WebGPU on SwiftShader, no f16) against the built
// package: the page imports 'kiln-gpu' and Vite bundles it as a browser app would (the "browser" export,
// bare imports resolved, WGSL files emitted as assets and fetched); then ops and autograd run on
// navigator.gpu. Needs `npm run build` first (npm run test:browser does it) and Debian's chromium.
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { requireChromium, runPage } from './lib/chromium.mjs';

requireChromium();
const repo = new URL('..', import.meta.url).pathname;
const app = mkdtempSync(join(tmpdir(), 'kiln-browser-app-'));
cpSync(join(repo, 'tests/browser/smoke.html'), join(app, 'smoke.html'));
// The app depends on kiln-gpu as an installed package would: node_modules/kiln-gpu is this repository.
mkdirSync(join(app, 'node_modules'));
symlinkSync(repo, join(app, 'node_modules/kiln-gpu'), 'dir');
const out = join(app, 'dist');
await build({ root: app, logLevel: 'warn', build: { outDir: out, emptyOutDir: true, target: 'es2022', rollupOptions: { input: join(app, 'smoke.html') } } });
const result = await runPage(out, 'smoke.html');
console.log(JSON.stringify(result, null, 2));
console.log(result.ok ? 'browser: 1 passed, 0 failed' : 'browser: 0 passed, 1 failed');
process.exit(result.ok ? 0 : 1);
