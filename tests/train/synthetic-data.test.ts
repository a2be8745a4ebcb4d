// data.kind 'synthetic': the config section (defaults, errors naming the field) and a tiny run of the demo
// ImageBind on kiln.data.synthetic scenes from the example YAML file.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const example = join(import.meta.dirname, '../../examples/configs/synthetic-imagebind.yaml');

describe("data.kind 'synthetic'", () => {
  it('parses with its defaults, and names the field and value in every error', async () => {
    const cfg = await kiln.train.resolveConfig({ data: { kind: 'synthetic' }, steps: 1 });
    expect(cfg.data).toEqual({ kind: 'synthetic', size: 2048, heldOut: 256, seed: null, imageSize: null, contextLength: null, numMelBins: null, targetLength: null, imuSamples: null });
    const file = await kiln.train.resolveConfig(example);
    expect(file.data).toMatchObject({ kind: 'synthetic', size: 2048, heldOut: 256 });
    await expect(kiln.train.resolveConfig({ data: { kind: 'synthetic', size: 0 }, steps: 1 })).rejects.toThrow(/data\.size: expected an integer ≥ 1, got 0/);
    await expect(kiln.train.resolveConfig({ data: { kind: 'synthetic', imageSize: 4 }, steps: 1 })).rejects.toThrow(/data\.imageSize: expected an integer ≥ 8, got 4/);
    await expect(kiln.train.resolveConfig({ data: { kind: 'synthetic', classes: 3 }, steps: 1 } as never)).rejects.toThrow(/data\.classes: unknown field/);
    await expect(kiln.train.resolveConfig({ data: { kind: 'synthetic', size: 4 }, batchSize: 8, steps: 1 })).rejects.toThrow(/batchSize: expected at most data\.size \(4\), got 8/);
  });

  it('trains the demo ImageBind on synthetic scenes from a YAML file, evaluating on the held-out split', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-synth-'));
    const sets = ['data.size=16', 'data.heldOut=8', 'batchSize=8', 'steps=2', 'evalEvery=2', 'logEvery=1', 'pairs=[{a: vision, b: imu}]', `out=${out}`];
    const s = await kiln.train.fit(example, { sets });
    expect(s.steps).toBe(2);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number; eval?: { loss: number } });
    expect(rows.filter((r) => r.loss !== undefined).map((r) => r.step)).toEqual([1, 2]);
    const ev = rows.find((r) => r.eval)!.eval!;
    expect(Number.isFinite(ev.loss)).toBe(true);
    // Sizes the model's inputs do not take are refused before any step.
    await expect(kiln.train.fit(example, { sets: [...sets, 'data.imageSize=16'] })).rejects.toThrow(/data\.imageSize: the model's vision input needs 32, got 16/);
  }, 60_000);
});
