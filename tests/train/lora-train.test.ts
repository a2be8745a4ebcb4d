// LoRA through the trainer: a run with a lora section trains only the adapters and resumes exactly from a
// checkpoint (adapters, their AdamW state, the metrics) — the export equals the uninterrupted run's.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const CONFIG = {
  model: { kind: 'clip' as const, config: 'tiny' },
  data: { kind: 'random' as const, size: 16 },
  batchSize: 8,
  optimizer: { lr: 1e-2 },
  schedule: { kind: 'constant' as const },
  lora: { rank: 2, targets: ['attn.q_proj', 'attn.v_proj', 'mlp.c_fc'], towers: ['text'] },
  logEvery: 1,
  checkpointEvery: 2,
};

const bits = async (file: string): Promise<Map<string, number[]>> =>
  new Map(await Promise.all([...(await kiln.io.loadSafetensors(file))].map(async ([k, t]) => [k, Array.from(new Uint32Array((await t.rawData()).slice().buffer))] as const)));
const rows = (out: string): unknown[] =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    for (const k of kiln.train.WALL_CLOCK_FIELDS) delete r[k];
    return r;
  });

describe('LoRA in kiln.train.fit', () => {
  it('resumes a LoRA run exactly: the same metrics and bitwise-equal exported adapters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-lora-fit-'));
    const a = await kiln.train.fit({ ...CONFIG, steps: 4, out: join(dir, 'a') });
    await kiln.train.fit({ ...CONFIG, steps: 2, out: join(dir, 'b') });
    const b = await kiln.train.fit({ ...CONFIG, steps: 4, out: join(dir, 'b') }, { resume: 'auto' });
    expect(b.resumedFrom).toMatch(/step-2$/);
    expect(rows(join(dir, 'b'))).toEqual(rows(join(dir, 'a')));
    const ea = await bits(join(a.exported!, 'adapter.safetensors'));
    expect([...ea.keys()].every((k) => /^transformer\.resblocks\.\d\.(attn\.[qv]_proj|mlp\.c_fc)\.lora_[AB]\.weight$/.test(k))).toBe(true);
    expect(ea.size).toBe(12);
    expect(await bits(join(b.exported!, 'adapter.safetensors'))).toEqual(ea);
    // Only adapters have optimizer state.
    const ck = await kiln.train.readCheckpoint(a.checkpoint);
    const states = [...ck.tensors['optimizer.safetensors'].keys()].filter((k) => k.endsWith('.exp_avg'));
    expect(states.length).toBe(12);
    for (const m of Object.values(ck.tensors)) for (const t of m.values()) t.dispose();
  });
});
