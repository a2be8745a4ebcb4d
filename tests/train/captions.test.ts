// The trainer's config for LoRA and image–caption data (defaults, errors naming the field and value,
// evalEvery: epoch) and the captions file parser (OpenCLIP's CSV layout, errors naming the line).
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const { resolveConfig, parseCaptions } = kiln.train;

describe('config: lora, image-caption data, evalEvery', () => {
  it('merges a partial lora section over PEFT-like defaults and validates it', async () => {
    const cfg = await resolveConfig({ steps: 1, lora: { rank: 4, towers: ['text'] } });
    expect(cfg.lora).toEqual({ ...kiln.train.LORA_DEFAULTS, rank: 4, towers: ['text'] });
    expect((await resolveConfig({ steps: 1 })).lora).toBeNull();
    await expect(resolveConfig({ steps: 1 }, ['lora.rank=0'])).rejects.toThrow(/lora\.rank: expected an integer ≥ 1, got 0/);
    await expect(resolveConfig({ steps: 1 }, ['lora.targets=[]'])).rejects.toThrow(/lora\.targets: expected at least one module path/);
    await expect(resolveConfig({ steps: 1 }, ['lora.dropout=1'])).rejects.toThrow(/lora\.dropout: expected a number in \[0, 0\.999\], got 1/);
    await expect(resolveConfig({ steps: 1 }, ['lora.blocks=[-1]'])).rejects.toThrow(/lora\.blocks\[0\]: expected an integer ≥ 0, got -1/);
    await expect(resolveConfig({ steps: 1 }, ['lora.ranks=4'])).rejects.toThrow(/lora\.ranks: unknown field/);
  });

  it('takes image-caption data with its own defaults, evalEvery: epoch, and names bad fields', async () => {
    const cfg = await resolveConfig({ steps: 1, evalEvery: 'epoch', data: { kind: 'image-caption', captions: 'c.tsv', heldOut: 8 } });
    expect(cfg.data).toEqual({ kind: 'image-caption', captions: 'c.tsv', imageKey: 'filepath', captionKey: 'title', tokenizer: null, heldOut: 8 });
    expect(cfg.evalEvery).toBe('epoch');
    await expect(resolveConfig({ steps: 1 }, ['data.kind=image-caption'])).rejects.toThrow(/data\.captions: expected a non-empty string, got ""/);
    await expect(resolveConfig({ steps: 1 }, ['data.kind=image-caption', 'data.captions=c.tsv', 'data.size=3'])).rejects.toThrow(/data\.size: unknown field/);
    await expect(resolveConfig({ steps: 1 }, ['evalEvery=epochs'])).rejects.toThrow(/evalEvery: expected an integer ≥ 0, got "epochs"/);
  });
});

describe('parseCaptions', () => {
  it('reads the header-named columns, resolves paths against the file, and names bad lines', () => {
    const rows = parseCaptions('id\tfilepath\ttitle\n1\ta.png\ta red square\n\n2\tsub/b.png\ta blue circle\n', 'c.tsv', '/data', 'filepath', 'title');
    expect(rows).toEqual([
      { image: '/data/a.png', caption: 'a red square' },
      { image: '/data/sub/b.png', caption: 'a blue circle' },
    ]);
    expect(() => parseCaptions('path\ttitle\na.png\tx\n', 'c.tsv', '/d', 'filepath', 'title')).toThrow(/c\.tsv has no 'filepath' column in its header \(columns: path, title\)/);
    expect(() => parseCaptions('filepath\ttitle\na.png\tx\nb.png\n', 'c.tsv', '/d', 'filepath', 'title')).toThrow(/c\.tsv line 3: expected 2 tab-separated cells, got 1/);
    expect(() => parseCaptions('filepath\ttitle\n', 'c.tsv', '/d', 'filepath', 'title')).toThrow(/lists no image–caption rows/);
  });
});
