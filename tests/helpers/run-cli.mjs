// Runs the `kiln` command line from the TypeScript sources in a child process (tests that need a real
// process: SIGKILL and resume). A Vite dev server's module runner transpiles src/ on the fly; no build.
import { createServer, createServerModuleRunner } from 'vite';

const server = await createServer({ configFile: false, logLevel: 'error', appType: 'custom', server: { middlewareMode: true, hmr: false, ws: false }, optimizeDeps: { noDiscovery: true, include: [] } });
const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
const cli = await runner.import(new URL('../../src/cli/main.ts', import.meta.url).pathname);
try {
  process.exitCode = await cli.runCli(process.argv.slice(2));
} finally {
  await runner.close();
  await server.close();
}
