// The trainer's contract: a run SIGKILLed at fixed points (mid-step, in the checkpoint writer, around the
// rename) and at random times, then resumed with --resume auto, ends with the same metrics rows and
// bitwise-identical state as an uninterrupted run; corrupt, truncated or mismatched checkpoints are refused.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { cliEntry, removeCliBuild } from '../helpers/cli-process.js';
import { TEST_SEED, rng } from '../helpers/random.js';

// ImageBind tiny, vision–IMU: the IMU tower has DropPath 0.7 and head dropout 0.5, so the RNG state must be
// restored exactly too. 8 steps over 3 epochs of 12 samples; a checkpoint every 2 steps, the last 2 kept;
// an evaluation (own RNG stream, eval mode) every 4 steps.
const CONFIG = `
model: { kind: imagebind, config: tiny }
pairs: [{ a: vision, b: imu }]
data: { size: 12, classes: 3 }
batchSize: 4
steps: 8
logEvery: 1
checkpointEvery: 2
evalEvery: 4
keepLast: 2
optimizer: { lr: 0.001 }
schedule: { kind: warmup-cosine, warmup: 2 }
clipGradNorm: 5
`;


interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** `kiln train` in a child process; `killAfterMs` sends SIGKILL from outside after that long. */
async function runChild(args: readonly string[], env: Record<string, string>, killAfterMs?: number): Promise<Exit> {
  const cli = await cliEntry();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'train', ...args], { env: { ...process.env, KILN_TUNE: 'off', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

function metrics(out: string): unknown[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => {
      const row = JSON.parse(l) as Record<string, unknown>;
      for (const f of kiln.train.WALL_CLOCK_FIELDS) delete row[f];
      return row;
    });
}

const checkpointDirs = (out: string): string[] => readdirSync(join(out, 'checkpoints')).sort();

describe('kiln train: exact resume after SIGKILL', () => {
  afterAll(removeCliBuild);
  it('killed at fixed points and at random times, then resumed: same metrics and bitwise-identical final state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-resume-'));
    const cfg = join(dir, 'run.yaml');
    writeFileSync(cfg, CONFIG);

    // The uninterrupted run, in this process.
    const refOut = join(dir, 'ref');
    await kiln.train.fit(cfg, { sets: [`out=${refOut}`] });

    const out = join(dir, 'killed');
    const args = ['--config', cfg, '--out', out, '--resume', 'auto'];
    const killed = async (point: string): Promise<void> => {
      const r = await runChild(args, { KILN_TEST_KILL_AT: point });
      expect(r.signal, `${point}: ${r.stderr}`).toBe('SIGKILL');
    };
    // 1. Inside the first checkpoint's writer, after its second file: no complete checkpoint yet.
    await killed('ckpt-between-files:2');
    expect(checkpointDirs(out).filter((d) => d.startsWith('step-'))).toEqual([]);
    // 2. Starts afresh; killed before the rename of its second checkpoint: step-2 complete, step-4 a temporary.
    await killed('ckpt-before-rename:2');
    expect(checkpointDirs(out).filter((d) => d.startsWith('step-'))).toEqual(['step-2']);
    expect(checkpointDirs(out).some((d) => d.startsWith('.tmp-step-4'))).toBe(true);
    // 3. Resumes from step 2 (the temporary is ignored and removed); killed in the middle of its third step (step 5).
    await killed('mid-step:3');
    expect(checkpointDirs(out)).toEqual(['step-2', 'step-4']);
    // 4. Resumes from step 4; killed right after renaming step 6 into place, before step 2 (beyond keepLast) went.
    await killed('ckpt-after-rename:1');
    expect(checkpointDirs(out)).toEqual(['step-2', 'step-4', 'step-6']);
    // 5. Resumes and is killed from outside at a random moment (or finishes first), twice.
    const rand = rng(TEST_SEED);
    for (let i = 0; i < 2; i++) {
      const delay = 500 + Math.floor(rand() * 5000);
      const r = await runChild(args, {}, delay);
      expect(r.signal === 'SIGKILL' || r.code === 0, `killed after ${delay} ms (seed ${TEST_SEED}): ${r.stderr}`).toBe(true);
    }
    // 6. Runs to the end.
    const last = await runChild(args, {});
    expect(last.code, last.stderr).toBe(0);

    expect(metrics(out)).toEqual(metrics(refOut));
    expect(metrics(out)).toHaveLength(8 + 2); // a row per step and evaluations at steps 4 and 8
    expect(checkpointDirs(out)).toEqual(['step-6', 'step-8']);
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer.safetensors']) {
      const a = readFileSync(join(out, 'checkpoints/step-8', f));
      const b = readFileSync(join(refOut, 'checkpoints/step-8', f));
      expect(a.equals(b), `${f} differs from the uninterrupted run`).toBe(true);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('exact resume in process', () => {
  it('restores trainer-owned tensors too: SigLIP biases and a fixed scale made learnable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-resume-'));
    const cfg = {
      model: { kind: 'imagebind' as const, config: 'tiny', modalities: { imu: { logitScale: { learnable: true } } } },
      pairs: [{ a: 'vision', b: 'imu' }],
      loss: { kind: 'siglip' as const },
      data: { size: 8 },
      batchSize: 4,
      steps: 4,
      logEvery: 1,
      checkpointEvery: 2,
      optimizer: { lr: 1e-2 },
      schedule: { kind: 'constant' as const }, // so that a run of 2 steps is the first half of one of 4
    };
    await kiln.train.fit({ ...cfg, out: join(dir, 'ref') });
    await kiln.train.fit({ ...cfg, steps: 2, out: join(dir, 'split') }); // same run cut short at step 2…
    await kiln.train.fit({ ...cfg, out: join(dir, 'split') }, { resume: 'auto' }); // …then resumed
    expect(metrics(join(dir, 'split'))).toEqual(metrics(join(dir, 'ref')));
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer.safetensors']) {
      const a = readFileSync(join(dir, 'split/checkpoints/step-4', f));
      expect(a.equals(readFileSync(join(dir, 'ref/checkpoints/step-4', f))), f).toBe(true);
    }
    const tr = await kiln.io.loadSafetensors(join(dir, 'ref/checkpoints/step-4/trainer.safetensors'));
    expect([...tr.keys()].sort()).toEqual(['loss.vision-imu.logit_bias', 'modality_postprocessors.imu.1.log_logit_scale', 'ring']);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('exact resume in f16-mixed', () => {
  it("a run cut at step 1 and resumed equals the uninterrupted one bitwise, loss scaler's state included", async () => {
    if (!kiln.deviceInfo().features.includes('shader-f16')) return;
    const dir = mkdtempSync(join(tmpdir(), 'kiln-resume-'));
    // Accumulation and checkpointing too: the cast cache spans micro-batches and recomputes.
    const cfg = { precision: 'f16-mixed' as const, model: { kind: 'clip' as const, config: 'tiny' }, data: { size: 8 }, batchSize: 4, accumulate: 2, gradCheckpointing: true, steps: 2, logEvery: 1, checkpointEvery: 1, optimizer: { lr: 1e-2 }, schedule: { kind: 'constant' as const } };
    await kiln.train.fit({ ...cfg, out: join(dir, 'ref') });
    await kiln.train.fit({ ...cfg, steps: 1, out: join(dir, 'split') });
    await kiln.train.fit({ ...cfg, out: join(dir, 'split') }, { resume: 'auto' });
    expect(metrics(join(dir, 'split'))).toEqual(metrics(join(dir, 'ref')));
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer.safetensors']) {
      const a = readFileSync(join(dir, 'split/checkpoints/step-2', f));
      expect(a.equals(readFileSync(join(dir, 'ref/checkpoints/step-2', f))), f).toBe(true);
    }
    const tr = await kiln.io.loadSafetensors(join(dir, 'ref/checkpoints/step-2/trainer.safetensors'));
    expect([...tr.keys()].filter((k) => k.startsWith('scaler.')).sort()).toEqual(['scaler.growth_tracker', 'scaler.scale']);
    expect(Math.log2(await tr.get('scaler.scale')!.item()) % 1).toBe(0); // 2^16, or backed off by halves
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('exact resume across a stage change', () => {
  it('a run cut at step 2 and resumed enters stage 2 at step 3 as the uninterrupted run does (locks and accumulation too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-resume-'));
    const cfg = {
      model: { kind: 'imagebind' as const, config: 'tiny' },
      pairs: [{ a: 'vision', b: 'imu' }], // IMU: DropPath and head dropout, replayed by the accumulation
      data: { size: 8 },
      batchSize: 4,
      accumulate: 2,
      steps: 4,
      logEvery: 1,
      checkpointEvery: 2,
      optimizer: { lr: 1e-2, groups: [{ name: 'imu', match: ['modality_*.imu.*'], lr: 1e-2 }] },
      schedule: { kind: 'constant' as const },
      lock: { imu: { unlockedGroups: 2, freezeLayerNorm: false } },
      stages: [
        { step: 0, frozen: ['vision'] },
        { step: 3, lr: { default: 1e-3, imu: 2e-3 } },
      ],
    };
    await kiln.train.fit({ ...cfg, out: join(dir, 'ref') });
    await kiln.train.fit({ ...cfg, steps: 2, out: join(dir, 'split') });
    await kiln.train.fit({ ...cfg, out: join(dir, 'split') }, { resume: 'auto' });
    const rows = metrics(join(dir, 'split')) as { lr: Record<string, number> }[];
    expect(rows).toEqual(metrics(join(dir, 'ref')));
    expect(rows.map((r) => r.lr['imu'])).toEqual([1e-2, 1e-2, 1e-2, 2e-3]);
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer.safetensors']) {
      const a = readFileSync(join(dir, 'split/checkpoints/step-4', f));
      expect(a.equals(readFileSync(join(dir, 'ref/checkpoints/step-4', f))), f).toBe(true);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('checkpoints that cannot be resumed are refused', () => {
  const base = { model: { kind: 'clip' as const, config: 'tiny' }, steps: 2, checkpointEvery: 2, logEvery: 1, batchSize: 4, data: { size: 8 } };

  async function freshCheckpoint(): Promise<{ out: string; ck: string }> {
    const out = mkdtempSync(join(tmpdir(), 'kiln-ck-'));
    await kiln.train.fit({ ...base, out });
    return { out, ck: join(out, 'checkpoints', 'step-2') };
  }

  it('truncated, corrupt or incomplete files', async () => {
    const { out, ck } = await freshCheckpoint();
    const resume = (): Promise<unknown> => kiln.train.fit({ ...base, steps: 4, out }, { resume: ck });
    const model = join(ck, 'model.safetensors');
    const bytes = readFileSync(model);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(model, bytes);
    await expect(resume()).rejects.toThrow(/model\.safetensors is corrupt: SHA-256/);
    truncateSync(model, 100);
    await expect(resume()).rejects.toThrow(/model\.safetensors is truncated or corrupt: 100 bytes/);
    rmSync(join(ck, 'state.json'));
    await expect(resume()).rejects.toThrow(/incomplete or corrupt: cannot read state\.json/);
    rmSync(out, { recursive: true, force: true });
  });

  it('another model config or other kernel choices', async () => {
    const { out, ck } = await freshCheckpoint();
    const file = join(out, 'wider.json');
    const arch = await kiln.models.loadClipConfig('tiny');
    writeFileSync(file, JSON.stringify({ ...arch, text: { ...arch.text, layers: 1 } }));
    await expect(kiln.train.fit({ ...base, model: { kind: 'clip', config: file }, steps: 4, out }, { resume: ck })).rejects.toThrow(/was written for another model config/);
    process.env['KILN_ATTENTION'] = '16:16';
    try {
      await expect(kiln.train.fit({ ...base, steps: 4, out }, { resume: ck })).rejects.toThrow(/other kernel variant switches/);
    } finally {
      delete process.env['KILN_ATTENTION'];
    }
    // A fresh run into a directory that holds checkpoints is refused rather than mixed with them.
    await expect(kiln.train.fit({ ...base, out })).rejects.toThrow(/already holds checkpoints/);
    // And the untouched checkpoint resumes.
    const s = await kiln.train.fit({ ...base, steps: 4, out }, { resume: 'auto' });
    expect([s.steps, s.resumedFrom]).toEqual([4, ck]);
    expect(existsSync(join(out, 'checkpoints', 'step-4'))).toBe(true);
    rmSync(out, { recursive: true, force: true });
  });
});
