// `kiln profile`: profiles the training steps of a config (not the set-up), prints the tables, writes a
// Chrome trace, and refuses bad usage with exit status 2.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../helpers/cli-io.js';
import { runCli } from '../../src/cli/main.js';

describe('kiln profile', () => {
  it('profiles N training steps after the warm-up and writes a Chrome trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-profile-'));
    writeFileSync(join(dir, 'run.yaml'), 'model: { kind: clip, config: tiny }\ndata: { size: 8 }\nbatchSize: 4\nsteps: 50\n');
    const cap = captureIo();
    const trace = join(dir, 'trace.json');
    const rc = await runCli(['profile', '--config', join(dir, 'run.yaml'), '--steps', '2', '--trace', trace], cap.io);
    expect(rc, cap.err.join('\n')).toBe(0);
    const text = cap.out.join('\n');
    expect(text).toMatch(/kiln\.profile: \d+ dispatches, [\d.]+ ms GPU in [\d.]+ ms wall/);
    expect(text).toMatch(/pipeline compiles 0,/); // the warm-up step compiled every kernel
    expect(text).toMatch(/matmul/);
    expect(text).toMatch(/backward/);
    const events = (JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: unknown[] }).traceEvents;
    expect(events.length).toBeGreaterThan(10);
  });

  it('exits 2 on bad usage', async () => {
    const cap = captureIo();
    expect(await runCli(['profile'], cap.io)).toBe(2);
    expect(await runCli(['profile', '--config', 'x.yaml', '--steps', '0'], cap.io)).toBe(2);
    expect(cap.err.join('\n')).toMatch(/--steps must be an integer ≥ 1, got '0'/);
  });
});
