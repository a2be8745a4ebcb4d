// Runs tests/browser/smoke.html in headless Chromium (WebGPU on SwiftShader, no f16): Kiln's dist/ loads
// as plain ES modules, WGSL sources are fetched, ops and autograd run on navigator.gpu.
// Needs Debian's chromium (`apt-get install chromium`) and `npm run build`. Run: npm run test:browser
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
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
  await page.goto(`http://127.0.0.1:${port}/tests/browser/smoke.html`);
  const result = await page.waitForFunction(() => window.__kilnResult, null, { timeout: 120_000 }).then((h) => h.jsonValue());
  console.log(JSON.stringify(result, null, 2));
  code = result.ok ? 0 : 1;
  console.log(result.ok ? 'browser: 1 passed, 0 failed' : 'browser: 0 passed, 1 failed');
} finally {
  await browser.close();
  server.close();
}
process.exit(code);
