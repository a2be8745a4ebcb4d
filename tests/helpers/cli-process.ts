// The `kiln` command as a real child process, for tests that need one (SIGKILL, then resume): src/ is
// transpiled once per test process with Vite's oxc transform into node_modules/.cache (so bare imports
// resolve to this checkout's packages), with the WGSL, JSON and assets beside it as in dist/.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { transformWithOxc } from 'vite';

const ROOT = new URL('../..', import.meta.url).pathname;
let entry: Promise<string> | null = null;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

const CACHE = join(ROOT, 'node_modules', '.cache');
const dest = join(CACHE, `kiln-cli-${process.pid}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function transpile(): Promise<string> {
  // Copies left by test processes that died without cleaning up go first.
  for (const name of existsSync(CACHE) ? readdirSync(CACHE) : []) {
    const pid = /^kiln-cli-(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) rmSync(join(CACHE, name), { recursive: true, force: true });
  }
  rmSync(dest, { recursive: true, force: true });
  for (const file of walk(join(ROOT, 'src'))) {
    const out = join(dest, relative(ROOT, file));
    mkdirSync(dirname(out), { recursive: true });
    if (file.endsWith('.ts')) writeFileSync(out.replace(/\.ts$/, '.js'), (await transformWithOxc(readFileSync(file, 'utf8'), file, { lang: 'ts' })).code);
    else cpSync(file, out);
  }
  symlinkSync(join(ROOT, 'assets'), join(dest, 'assets'));
  return join(dest, 'src', 'cli', 'kiln.js');
}

/** Removes this process's transpiled copy (call from afterAll). */
export function removeCliBuild(): void {
  rmSync(dest, { recursive: true, force: true });
  entry = null;
}

/** The path of a runnable `kiln.js` built from the current sources (once per test process). */
export function cliEntry(): Promise<string> {
  entry ??= transpile();
  return entry;
}
