// Atomic file writes for Node: bytes go to a temporary name unique to this host, process and call, which is
// synced and renamed over the target, so readers see the old file or the new one, never a torn mix. Stale
// temporaries left by a killed writer of this host are removed on the next write. Not for browsers.

/** The temporary names writeFileAtomic uses for `base`: `<base>.tmp-<host>-<pid>-<16 hex>`. */
const TMP_RE = /^(.*)\.tmp-([A-Za-z0-9_.]+)-(\d+)-([0-9a-f]{16})$/;

function hostTag(host: string): string {
  return host.replace(/[^A-Za-z0-9.]/g, '_') || 'host';
}

function randomHex(): string {
  const b = new Uint8Array(8);
  globalThis.crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Whether process `pid` exists on this host (EPERM: it exists but belongs to someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes `chunks` to `path` atomically: a fresh temporary (opened exclusively, so no two writers ever
 * share one), fsync, rename. On failure the temporary is removed and the old file is untouched. `op`
 * names the caller in errors.
 */
export async function writeFileAtomic(path: string, chunks: readonly Uint8Array[], op: string): Promise<void> {
  const fsName = 'node:fs/promises';
  const osName = 'node:os';
  const pathName = 'node:path';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  const os = (await import(/* @vite-ignore */ osName)) as typeof import('node:os');
  const np = (await import(/* @vite-ignore */ pathName)) as typeof import('node:path');
  const host = hostTag(os.hostname());
  await removeStale(fs, np, path, host);
  const tmp = `${path}.tmp-${host}-${process.pid}-${randomHex()}`;
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await fs.open(tmp, 'wx');
  } catch (e) {
    throw new Error(`${op}: cannot create the temporary file ${tmp}: ${(e as Error).message}`, { cause: e });
  }
  try {
    for (const c of chunks) await fh.write(c);
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw new Error(`${op}: writing ${path} failed: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Removes temporaries of `path` written by processes of this host that no longer exist (a writer killed
 * mid-write). Those of live processes, and of other hosts sharing the folder, are left alone.
 */
async function removeStale(fs: typeof import('node:fs/promises'), np: typeof import('node:path'), path: string, host: string): Promise<void> {
  const dir = np.dirname(path);
  const base = np.basename(path);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return; // a missing folder fails at open, with its own error
  }
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (!m || m[1] !== base || m[2] !== host) continue;
    const pid = Number(m[3]);
    if (pid === process.pid || alive(pid)) continue;
    await fs.rm(np.join(dir, n), { force: true });
  }
}

/** The parts of a temporary name writeFileAtomic made, or null (exported for tests). */
export function parseTempName(name: string): { base: string; host: string; pid: number } | null {
  const m = TMP_RE.exec(name);
  return m ? { base: m[1]!, host: m[2]!, pid: Number(m[3]) } : null;
}
