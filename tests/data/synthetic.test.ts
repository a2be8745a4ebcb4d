// kiln.data.synthetic: deterministic from the seed (same bytes), distinct per index, per-epoch noise over a
// fixed scene, a separate held-out split, captions through the real tokenizer, audio through loadAudio.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const small = { size: 12, imageSize: 16, numMelBins: 16, targetLength: 16, imuSamples: 16 } as const;
const bytes = (s: kiln.train.Sample): number[] => Object.keys(s).sort().flatMap((m) => Array.from(new Uint8Array(s[m]!.buffer)));

describe('kiln.data.synthetic', () => {
  it('same seed → same bytes in every modality; another index or seed → another sample', async () => {
    const a = await kiln.data.synthetic({ ...small, seed: 5 });
    const b = await kiln.data.synthetic({ ...small, seed: 5 });
    expect(Object.keys(a.inputs).sort()).toEqual(['audio', 'depth', 'imu', 'text', 'thermal', 'vision']);
    for (const i of [0, 7]) expect(bytes(a.get(i, 2))).toEqual(bytes(b.get(i, 2)));
    const s0 = a.get(0, 0);
    const s1 = a.get(1, 0);
    for (const m of Object.keys(s0)) if (m !== 'text' || a.caption(0, 0) !== a.caption(1, 0)) expect(s0[m]).not.toEqual(s1[m]);
    const c = await kiln.data.synthetic({ ...small, seed: 6 });
    expect(c.get(0, 0)['vision']).not.toEqual(s0['vision']);
    // shapes match the inputs the dataset declares
    for (const [m, spec] of Object.entries(a.inputs)) expect(s0[m]!.length).toBe(spec.shape.reduce((x, y) => x * y, 1));
  });

  it('a scene is fixed across epochs; its rendering noise is drawn per epoch', async () => {
    const a = await kiln.data.synthetic({ ...small, seed: 1 });
    expect(a.scene(3)).toEqual(a.scene(3));
    expect(a.get(3, 0)['vision']).not.toEqual(a.get(3, 1)['vision']);
    expect(a.get(3, 0)['audio']).not.toEqual(a.get(3, 1)['audio']);
  });

  it('the held-out split draws other scenes from the same seed', async () => {
    const tr = await kiln.data.synthetic({ ...small, seed: 2, modalities: ['vision', 'imu'] });
    const ho = await kiln.data.synthetic({ ...small, seed: 2, split: 'heldout', modalities: ['vision', 'imu'] });
    expect(Object.keys(tr.inputs)).toEqual(['vision', 'imu']);
    const scenes = (d: kiln.data.SyntheticDataset): string => JSON.stringify(Array.from({ length: d.size }, (_, i) => d.scene(i)));
    expect(scenes(tr)).not.toEqual(scenes(ho));
  });

  it('captions go through the shipped tokenizer and name the attributes the text carries', async () => {
    const a = await kiln.data.synthetic({ ...small, seed: 0, modalities: ['text'] });
    const tok = await kiln.text.defaultTokenizer();
    const ids = a.get(4, 0)['text'] as Int32Array;
    expect(a.inputs['text']!.vocab).toBe(tok.vocabSize);
    const s = a.scene(4);
    const caption = a.caption(4, 0);
    expect(tok.decode(Array.from(ids), { skipSpecial: true }).trim()).toBe(caption);
    const words = kiln.data.classWords(kiln.data.classOf(s, kiln.data.CARRIES.text), kiln.data.CARRIES.text);
    for (const w of Object.values(words)) expect(caption).toContain(w);
    expect(Math.max(...ids)).toBe(tok.eotTokenId); // the end token is the largest id (argmax pooling)
  });

  it('audio carries the colour as pitch: the loudest mel band rises from red to yellow', async () => {
    const a = await kiln.data.synthetic({ size: 128, seed: 3, numMelBins: 32, targetLength: 16, modalities: ['audio'] });
    const peak = (i: number): number => {
      const f = a.get(i, 0)['audio'] as Float32Array;
      const band = Array.from({ length: 32 }, (_, m) => f.slice(m * 16, (m + 1) * 16).reduce((x, y) => x + y, 0));
      return band.indexOf(Math.max(...band));
    };
    const byColour = new Map<number, number[]>();
    for (let i = 0; i < a.size; i++) {
      const s = a.scene(i);
      if (s.shape !== 0) continue; // sines: the fundamental is the loudest band
      byColour.set(s.colour, [...(byColour.get(s.colour) ?? []), peak(i)]);
    }
    const mean = (c: number): number => byColour.get(c)!.reduce((x, y) => x + y, 0) / byColour.get(c)!.length;
    expect(byColour.size).toBe(4);
    for (let c = 1; c < 4; c++) expect(mean(c)).toBeGreaterThan(mean(c - 1));
  });

  it('documents the shared attributes of a pair and refuses bad options', async () => {
    expect(kiln.data.sharedAttributes('text', 'audio')).toEqual(['shape', 'colour']);
    expect(kiln.data.sharedAttributes('text', 'imu')).toEqual(['motion']);
    await expect(kiln.data.synthetic({ size: 0 })).rejects.toThrow(/synthetic.*size/);
    const a = await kiln.data.synthetic({ ...small, modalities: ['imu'] });
    expect(() => a.get(12, 0)).toThrow(/index 12 out of range/);
  });
});
