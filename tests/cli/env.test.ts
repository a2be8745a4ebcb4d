// `kiln env`: the report names the live adapter, its driver, features and limits; --json parses; --version.
import { describe, expect, it } from 'vitest';
import { captureIo } from '../helpers/cli-io.js';
import * as kiln from '../../src/node.js';
import { runCli } from '../../src/cli/main.js';

describe('kiln env', () => {
  it('prints versions, adapter, driver, features and limits', async () => {
    const c = captureIo();
    expect(await runCli(['env'], c.io)).toBe(0);
    const text = c.out.join('\n');
    const info = kiln.deviceInfo();
    expect(text).toContain(`kiln      ${kiln.version}`);
    expect(text).toContain(`driver    ${info.description}`);
    expect(text).toMatch(/maxStorageBufferBindingSize\s+\d+/);
    for (const f of info.features) expect(text).toContain(`${f}*`);
  });

  it('--json is one object with the adapter limits', async () => {
    const c = captureIo();
    expect(await runCli(['env', '--json'], c.io)).toBe(0);
    const r = JSON.parse(c.out.join('\n')) as { kiln: string; limits: Record<string, number>; features: { enabled: string[] } };
    expect(r.kiln).toBe(kiln.version);
    expect(r.limits['maxComputeWorkgroupSizeX']).toBeGreaterThanOrEqual(256);
    expect(r.features.enabled).toEqual(kiln.deviceInfo().features);
  });

  it('rejects unknown options with the usage; --version prints the version', async () => {
    const c = captureIo();
    expect(await runCli(['env', '--bogus'], c.io)).toBe(2);
    expect(c.err.join('\n')).toContain('usage: kiln env');
    const v = captureIo();
    expect(await runCli(['--version'], v.io)).toBe(0);
    expect(v.out).toEqual([kiln.version]);
  });
});
