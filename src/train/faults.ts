// Test-only fault injection: KILN_TEST_KILL_AT=<point>[:<n>] makes the process SIGKILL itself the n-th time
// (default the first) it passes the named point, so tests can prove exact resume after a crash anywhere.

/** The points the trainer passes, in the order of a step and of a checkpoint write. */
export const KILL_POINTS = ['mid-step', 'ckpt-between-files', 'ckpt-before-rename', 'ckpt-after-rename'] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

const passed = new Map<KillPoint, number>();

function target(): { point: string; n: number } | null {
  const spec = typeof process === 'undefined' ? undefined : process.env['KILN_TEST_KILL_AT'];
  if (!spec) return null;
  const [point, n] = spec.split(':');
  return { point: point ?? '', n: n === undefined ? 1 : Number(n) };
}

/** Kills the process here when KILN_TEST_KILL_AT names this point and occurrence; otherwise nothing. */
export function killPoint(point: KillPoint): void {
  const t = target();
  if (!t || t.point !== point) return;
  const count = (passed.get(point) ?? 0) + 1;
  passed.set(point, count);
  if (count === t.n) process.kill(process.pid, 'SIGKILL');
}
