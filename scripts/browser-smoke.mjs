// Runs tests/browser/smoke.html in headless Chromium (WebGPU on SwiftShader, no f16): the page is bundled
// by Vite as a browser app would bundle Kiln (bare imports resolved, WGSL files emitted as assets and
// fetched), then ops and autograd run on navigator.gpu.
// Needs Debian's chromium (`apt-get install chromium`). Run: npm run test:browser
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const repo = new URL('..', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'kiln-browser-'));
await build({
  root: join(repo, 'tests/browser'),
  logLevel: 'warn',
  build: { outDir: root, emptyOutDir: true, target: 'es2022', rollupOptions: { input: join(repo, 'tests/browser/smoke.html') } },
});
const types = { '.js': 'text/javascript', '.html': 'text/html', '.wgsl': 'text/plain', '.map': 'application/json' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  try {
    const body = await readFile(join(root, path));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
let code = 1;
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/smoke.html`);
  const result = await page.waitForFunction(() => window.__kilnResult, null, { timeout: 120_000 }).then((h) => h.jsonValue());
  console.log(JSON.stringify(result, null, 2));
  code = result.ok ? 0 : 1;
  console.log(result.ok ? 'browser: 1 passed, 0 failed' : 'browser: 0 passed, 1 failed');
} finally {
  await browser.close();
  server.close();
}
process.exit(code);
