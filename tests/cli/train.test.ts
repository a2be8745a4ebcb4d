// `kiln train`: usage and exit statuses (0 done, 1 runtime failure, 2 bad usage or config), plain progress
// lines off a TTY, --set and --out, starting from weights of an earlier run, and the TTY progress bar.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../helpers/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import * as kiln from '../../src/node.js';

const CONFIG = 'model: { kind: clip, config: tiny }\ndata: { size: 8 }\nbatchSize: 4\nsteps: 2\nlogEvery: 1\n';

describe('kiln train', () => {
  it('trains from a YAML config with --out and --set, printing plain progress lines off a TTY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-train-'));
    writeFileSync(join(dir, 'run.yaml'), CONFIG);
    const cap = captureIo();
    const rc = await runCli(['train', '--config', join(dir, 'run.yaml'), '--out', join(dir, 'out'), '--set', 'optimizer.lr=1e-3', '--set', 'schedule.kind=constant'], cap.io);
    expect(rc, cap.err.join('\n')).toBe(0);
    expect(cap.out[0]).toMatch(/^step 1\/2 loss \S+ lr 0\.001000 \S+ samples\/s ETA/);
    expect(cap.out.at(-1)).toMatch(/kiln train: 2 steps, final loss \S+, 0 skipped, in \S+ s → .*checkpoints\/step-2/);
    const rows = readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(2);

    // Fine-tuning starts from the weights of a Kiln checkpoint: with lr 0 the weights come out unchanged.
    const cap2 = captureIo();
    const ck = join(dir, 'out', 'checkpoints', 'step-2');
    const rc2 = await runCli(['train', '--config', join(dir, 'run.yaml'), '--out', join(dir, 'ft'), '--set', `model.weights=${ck}`, '--set', 'optimizer.lr=0', '--set', 'steps=1'], cap2.io);
    expect(rc2, cap2.err.join('\n')).toBe(0);
    const before = await kiln.io.loadSafetensors(join(ck, 'model.safetensors'));
    const after = await kiln.io.loadSafetensors(join(dir, 'ft', 'checkpoints', 'step-1', 'model.safetensors'));
    for (const [name, t] of before) expect(await after.get(name)!.data(), name).toEqual(await t.data());
  });

  it('exits 2 on bad usage or config (naming the field) and 1 on a runtime failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-train-'));
    writeFileSync(join(dir, 'run.yaml'), CONFIG);
    const cfg = join(dir, 'run.yaml');
    let cap = captureIo();
    expect(await runCli(['train', '--help'], cap.io)).toBe(0);
    expect(cap.out[0]).toMatch(/usage: kiln train --config <file>/);
    cap = captureIo();
    expect(await runCli(['train'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/--config <file> is required/);
    cap = captureIo();
    expect(await runCli(['train', '--config', cfg, '--set', 'optimizer.lr=1e-3x'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/optimizer\.lr: expected a number ≥ 0, got "1e-3x"/);
    cap = captureIo();
    expect(await runCli(['train', '--config', cfg, '--set', 'accumulate=3'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/accumulate: must divide batchSize \(4\) into equal micro-batches, got 3/);
    cap = captureIo();
    expect(await runCli(['train', '--config', join(dir, 'nope.yaml')], cap.io)).toBe(2);
    cap = captureIo();
    expect(await runCli(['train', '--config', cfg, '--bogus'], cap.io)).toBe(2);
    cap = captureIo();
    expect(await runCli(['train', '--config', cfg, '--out', join(dir, 'o'), '--resume', join(dir, 'no-such-checkpoint')], cap.io)).toBe(1);
    expect(cap.err[0]).toMatch(/no-such-checkpoint: incomplete or corrupt: cannot read state\.json/);
  });

  it('draws a progress bar in place on a TTY', () => {
    let screen = '';
    const p = new kiln.train.Progress(10, () => undefined, { write: (s) => void (screen += s), columns: 100 });
    const row = { step: 5, epoch: 0, loss: 1.5, losses: {}, lr: { default: 1e-3 }, gradNorm: 1, gradNorms: {}, skipped: 0, samplesPerSec: 12.5, elapsed: 10, dataWait: 0 };
    p.update(row);
    expect(screen.startsWith('\r[')).toBe(true);
    expect(screen.endsWith('\u001b[K')).toBe(true); // clears the rest of the line
    expect(screen).toMatch(/\[#+\.+\] step 5\/10 loss 1\.500 lr 0\.001000 12\.50 samples\/s ETA 10s/);
    p.update({ ...row, step: 10 });
    expect(screen.endsWith('\n')).toBe(true);
  });
});
