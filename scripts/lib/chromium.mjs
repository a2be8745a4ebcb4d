// Serves a built page directory over HTTP and runs it in headless Chromium with WebGPU on SwiftShader,
// waiting for the page to set `window.__kilnResult`. Shared by browser-smoke.mjs and consumers.mjs.
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
  // WebGPU on SwiftShader (Dawn's CPU Vulkan), as on a machine without a GPU.
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
];

/** Throws a clear, actionable error when Chromium is missing. */
export function requireChromium() {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}. On Debian/Ubuntu: sudo apt-get install -y chromium ` +
        '(or set CHROMIUM=/path/to/chromium).',
    );
}

/** Serves `dir`, opens `page` in Chromium and resolves to the page's `window.__kilnResult`. */
export async function runPage(dir, page, { timeoutMs = 120_000, log = console.log } = {}) {
  requireChromium();
  const { chromium } = await import('playwright-core');
  const types = { '.js': 'text/javascript', '.html': 'text/html', '.wgsl': 'text/plain', '.map': 'application/json', '.json': 'application/json' };
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    try {
      const body = await readFile(join(dir, path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const tab = await browser.newPage();
    tab.on('console', (m) => log(`[page] ${m.text()}`));
    tab.on('pageerror', (e) => log(`[page error] ${e.message}`));
    await tab.goto(`http://127.0.0.1:${server.address().port}/${page}`);
    return await tab.waitForFunction(() => window.__kilnResult, null, { timeout: timeoutMs }).then((h) => h.jsonValue());
  } finally {
    await browser.close();
    server.close();
  }
}
