// The trainer's config: defaults merged under a partial config, YAML and JSON files, `--set` overrides by
// dotted path, and errors that name the field and the value; keys of later features rejected clearly.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const { resolveConfig, DEFAULTS, ConfigError } = kiln.train;
const base = { steps: 10 };

describe('train config', () => {
  it('merges a partial config over the defaults (objects key by key, lists replace)', async () => {
    const cfg = await resolveConfig({ ...base, optimizer: { lr: 1e-3 }, pairs: [{ a: 'image', b: 'text' }] });
    expect(cfg.optimizer).toEqual({ ...DEFAULTS.optimizer, lr: 1e-3 });
    expect(cfg.pairs).toEqual([{ a: 'image', b: 'text', weight: 1 }]);
    expect(cfg.schedule).toEqual(DEFAULTS.schedule);
    expect([cfg.batchSize, cfg.precision, cfg.accumulate, cfg.steps]).toEqual([8, 'f32', 1, 10]);
  });

  it('reads YAML and JSON files and applies --set overrides by dotted path, values parsed as YAML scalars', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cfg-'));
    writeFileSync(join(dir, 'a.yaml'), 'model:\n  kind: imagebind\n  config: tiny\nsteps: 5\noptimizer:\n  betas: [0.9, 0.95]\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ model: { kind: 'clip' }, epochs: 2, steps: null }));
    const a = await resolveConfig(join(dir, 'a.yaml'), ['optimizer.lr=1e-4', 'schedule.kind=constant', 'pairs=[{a: vision, b: audio, weight: 2}]', 'clipGradNorm=1.5', 'out=x y']);
    expect(a.model.kind).toBe('imagebind');
    expect(a.optimizer.betas).toEqual([0.9, 0.95]);
    expect(a.optimizer.lr).toBe(1e-4);
    expect(a.schedule.kind).toBe('constant');
    expect(a.pairs).toEqual([{ a: 'vision', b: 'audio', weight: 2 }]);
    expect([a.clipGradNorm, a.out]).toEqual([1.5, 'x y']);
    const b = await resolveConfig(join(dir, 'b.json'));
    expect([b.model.kind, b.epochs, b.steps]).toEqual(['clip', 2, null]);
    writeFileSync(join(dir, 'bad.yaml'), 'model: [unclosed\n');
    await expect(resolveConfig(join(dir, 'bad.yaml'))).rejects.toThrow(/bad\.yaml: not valid YAML\/JSON/);
    await expect(resolveConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read .*missing\.yaml/);
  });

  it('names the field and the value in every error', async () => {
    const cases: [unknown, string[], RegExp][] = [
      [base, ['optimizer.lr=1e-3x'], /^optimizer\.lr: expected a number ≥ 0, got "1e-3x"$/],
      [{ ...base, optimizer: { lr: -1 } }, [], /optimizer\.lr: expected a number ≥ 0, got -1/],
      [{ ...base, optimizer: { betas: [0.9] } }, [], /optimizer\.betas: expected two numbers \[beta1, beta2\], got \[0\.9\]/],
      [{ ...base, model: { kind: 'gpt' } }, [], /model\.kind: expected one of 'imagebind', 'clip', got "gpt"/],
      [{ ...base, batchSize: 2.5 }, [], /batchSize: expected an integer ≥ 2, got 2\.5/],
      [{ ...base, schedule: { kind: 'cosine-restarts', T_0: 0 } }, [], /schedule\.T_0: expected an integer ≥ 1, got 0/],
      [{ ...base, pairs: [{ a: 'text', b: 'text' }] }, [], /pairs\[0\]: a pair needs two different modalities, got 'text' twice/],
      [{ ...base, optimizer: { groups: [{ name: 'towers', match: [], lr: 1 }] } }, [], /optimizer\.groups\[0\]\.match: expected at least one name pattern, got \[\]/],
      [{ ...base, lr: 1 }, [], /^lr: unknown field \(known: model, data, /],
      [{ ...base, model: { dropPath: 0.1 } }, [], /model\.dropPath: unknown field/],
      [{ ...base, model: { modalities: { audio: { dropPath: 2 } } } }, [], /model\.modalities\.audio\.dropPath: expected a number in \[0, 1\], got 2/],
      [{ ...base, steps: null }, [], /give steps or epochs/],
      [{ ...base, epochs: 3 }, [], /steps or epochs, not both/],
      [base, ['nokey'], /--set: expected key=value, got "nokey"/],
      [{ ...base, data: { kind: 'scenes' } }, [], /data\.kind: expected one of 'random', 'image-caption'.*, got "scenes"/],
      [{ ...base, data: { size: 8, colour: 'red' } }, [], /data\.colour: unknown field \(known: kind, size, classes, noise\)/],
      [base, ['__proto__.x=1'], /--set: bad key/],
    ];
    for (const [input, sets, re] of cases) {
      const e = await resolveConfig(input as kiln.train.TrainConfigInput, sets).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e, String(re)).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(re);
    }
  });

  it("precision 'f16-mixed' and its explicit fallback are validated with the field named", async () => {
    const cfg = await resolveConfig({ ...base, precision: 'f16-mixed', precisionFallback: 'f32' });
    expect([cfg.precision, cfg.precisionFallback]).toEqual(['f16-mixed', 'f32']);
    expect((await resolveConfig(base)).precisionFallback).toBeNull();
    await expect(resolveConfig({ ...base, precision: 'bf16' as 'f32' })).rejects.toThrow(/precision/);
    await expect(resolveConfig({ ...base, precisionFallback: 'f16' as 'f32' })).rejects.toThrow(/precisionFallback/);
  });

  it('accumulate, lock, stages and gradCheckpointing: validated with the field named', async () => {
    const cfg = await resolveConfig({ ...base, batchSize: 16, accumulate: 4, gradCheckpointing: true, lock: { image: { unlockedGroups: 2 }, text: null }, stages: [{ step: 0, frozen: ['image'] }, { step: 5, lr: { default: 1e-5 } }] });
    expect([cfg.accumulate, cfg.gradCheckpointing]).toEqual([4, true]);
    expect(cfg.lock).toEqual({ image: { unlockedGroups: 2, freezeLayerNorm: true }, text: { unlockedGroups: 0, freezeLayerNorm: true } });
    expect(cfg.stages).toEqual([{ step: 0, frozen: ['image'], lr: {} }, { step: 5, frozen: [], lr: { default: 1e-5 } }]);
    await expect(resolveConfig({ ...base, batchSize: 8, accumulate: 3 })).rejects.toThrow(/accumulate: must divide batchSize \(8\) into equal micro-batches, got 3/);
    await expect(resolveConfig({ ...base, stages: [{ step: 4 }, { step: 4 }] })).rejects.toThrow(/stages\[1\]\.step: stages start in increasing order, got 4 after 4/);
    await expect(resolveConfig({ ...base, stages: [{ step: 0, lr: { image: 1 } }] })).rejects.toThrow(/stages\[0\]\.lr\.image: no parameter group 'image' \(groups: default\)/);
    await expect(resolveConfig({ ...base, stages: [{ step: 0, frozen: 'image' }] } as never)).rejects.toThrow(/stages\[0\]\.frozen: expected a list, got "image"/);
    await expect(resolveConfig({ ...base, lock: { image: { unlockedGroups: -1 } } })).rejects.toThrow(/lock\.image\.unlockedGroups: expected an integer ≥ 0, got -1/);
    await expect(resolveConfig({ ...base, lock: { image: { layers: 1 } } } as never)).rejects.toThrow(/lock\.image\.layers: unknown field/);
  });

  it("accepts the README's example config", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n(# run\.yaml[\s\S]*?)```/.exec(readme)![1]!;
    const cfg = await resolveConfig(kiln.train.parseConfigText(yaml, 'README.md') as kiln.train.TrainConfigInput);
    expect([cfg.model.kind, cfg.pairs.length, cfg.optimizer.groups[0]!.lr, cfg.steps]).toEqual(['imagebind', 2, 2e-5, 1000]);
  });

  it("accepts the README's staged (ImageBind) and image-text (per-tower lrs) examples", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = (name: string): kiln.train.TrainConfigInput => kiln.train.parseConfigText(new RegExp(`\`\`\`yaml\n# ${name}\n([\\s\\S]*?)\`\`\``).exec(readme)![1]!, name) as kiln.train.TrainConfigInput;
    const staged = await resolveConfig(block('staged.yaml'));
    expect(staged.stages.map((s) => [s.step, s.frozen, s.lr])).toEqual([
      [0, ['vision', 'text'], {}],
      [20000, [], { default: 1e-5, image: 1e-6, text: 1e-6 }],
    ]);
    expect([staged.accumulate, staged.gradCheckpointing]).toEqual([16, true]);
    const it = await resolveConfig(block('image-text.yaml'));
    expect(it.optimizer.groups.map((g) => [g.name, g.lr])).toEqual([
      ['image', 1e-5],
      ['text', 2e-5],
    ]);
    expect(it.lock).toEqual({ image: { unlockedGroups: 6, freezeLayerNorm: true } });
  });

  it('never evaluates code: YAML tags and JS-looking values stay data', async () => {
    const cfg = await resolveConfig(kiln.train.parseConfigText('out: "${process.exit(1)}"\nsteps: 3\n', 'x.yaml') as kiln.train.TrainConfigInput);
    expect(cfg.out).toBe('${process.exit(1)}');
    expect(() => kiln.train.parseConfigText('steps: !!js/function "function () {}"', 'x.yaml')).toThrow(/x\.yaml: not valid YAML\/JSON: .*tag/);
  });
});
