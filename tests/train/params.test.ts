// AdamW parameter groups: OpenCLIP v3.3's weight-decay exclusion (ndim < 2 or bn/ln/bias/logit_scale in the
// name) by default, OpenCLIP main's (ndim ≤ 1 plus positional/class embeddings) as an option, and per-group
// learning rates chosen by name patterns, first match wins.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const opt = (o: Partial<kiln.train.OptimizerSection> = {}): kiln.train.OptimizerSection => ({ ...kiln.train.DEFAULTS.optimizer, ...o });

describe('parameter groups', () => {
  it("OpenCLIP v3.3's rule on CLIP's names: 1-D, biases, LayerNorms and logit_scale are not decayed", async () => {
    const model = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'));
    const named = [...model.namedParameters()];
    const groups = kiln.train.paramGroups(named, opt());
    expect(groups.map((g) => [g.name, g.weightDecay])).toEqual([
      ['default', 0.2],
      ['default.no_decay', 0],
    ]);
    const noDecay = groups[1]!.params.map(([n]) => n);
    for (const [n, t] of named) {
      const expected = t.ndim < 2 || n.includes('bn') || n.includes('ln') || n.includes('bias') || n.includes('logit_scale');
      expect(noDecay.includes(n), n).toBe(expected);
    }
    expect(noDecay).toContain('logit_scale');
    expect(noDecay).toContain('visual.class_embedding'); // 1-D
    expect(noDecay).not.toContain('visual.positional_embedding'); // 2-D: decayed under v3.3's rule…
    const main = kiln.train.paramGroups(named, opt({ exclude: 'main' }));
    const mainNoDecay = main.find((g) => g.name === 'default.no_decay')!.params.map(([n]) => n);
    expect(mainNoDecay).toContain('visual.positional_embedding'); // …but not under main's
    expect(mainNoDecay).toContain('positional_embedding');
    expect(mainNoDecay).not.toContain('visual.proj');
    expect(kiln.train.excludedFromDecay('main', 'modality_preprocessors.vision.cls_token', 3)).toBe(true);
    expect(kiln.train.excludedFromDecay('main', 'modality_preprocessors.vision.pos_embedding_helper.pos_embed', 3)).toBe(true);
    expect(kiln.train.excludedFromDecay('openclip', 'modality_preprocessors.vision.cls_token', 3)).toBe(false);
    model.dispose();
  });

  it('per-group learning rates by name pattern (first match wins); frozen tensors stay in their group', async () => {
    const model = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'));
    model.visual.transformer.requiresGrad_(false);
    const groups = kiln.train.paramGroups(
      [...model.namedParameters()],
      opt({
        groups: [
          { name: 'image', match: ['visual.*'], lr: 1e-5 },
          { name: 'text', match: ['transformer.*', 'token_embedding.*'], lr: 2e-5 },
          { name: 'never', match: ['visual.conv1.*'], lr: 9 },
        ],
      }),
    );
    const by = Object.fromEntries(groups.map((g) => [g.name, g]));
    expect(Object.keys(by)).toEqual(['image', 'image.no_decay', 'text', 'text.no_decay', 'default', 'default.no_decay']);
    expect(by['image']!.lr).toBe(1e-5);
    expect(by['text.no_decay']!.lr).toBe(2e-5);
    expect(by['image']!.params.map(([n]) => n).filter((n) => !n.startsWith('visual.transformer.')).sort()).toEqual(['visual.conv1.weight', 'visual.positional_embedding', 'visual.proj']);
    expect(by['image']!.params.some(([n]) => n.startsWith('visual.transformer.'))).toBe(true); // frozen, still there
    expect(by['default']!.params.map(([n]) => n)).toEqual(['positional_embedding', 'text_projection']);
    expect(kiln.train.globToRegExp('a.*.b').test('a.x.y.b')).toBe(true);
    expect(kiln.train.globToRegExp('a.*.b').test('aXxXb')).toBe(false);
    model.dispose();
  });
});
