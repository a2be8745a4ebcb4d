// onProgress of the long operations: tune (tuneMatmul), iteratePth/loadPth and loadWeights report
// done/total from 0 up to total, in order, naming each item.
import { describe, expect, it } from 'vitest';
import * as kiln from '../src/node.js';
import { loadTuningCache, tune } from '../src/kernels/tune.js';
import { iterateSafetensors } from '../src/io/safetensors.js';
import { modelFixture } from './helpers/fixtures.js';

describe('onProgress', () => {
  it('tune: warm-ups then timed runs, ending at total', async () => {
    const saved = process.env['KILN_TUNE'];
    process.env['KILN_TUNE'] = 'on';
    try {
      const seen: kiln.Progress[] = [];
      const key = { kernel: 'progress-test', source: '0', shapeClass: 'x' };
      await tune(key, ['a', 'b'], () => undefined, { runs: 2, persist: false, onProgress: (p) => seen.push(p) });
      expect(seen[0]).toEqual({ done: 0, total: 6, unit: 'runs' });
      expect(seen.at(-1)!.done).toBe(6);
      expect(seen.map((p) => p.done)).toEqual([...seen.map((p) => p.done)].sort((x, y) => x - y));
      expect(seen.slice(1, 3).map((p) => p.name)).toEqual(['"a"', '"b"']);
    } finally {
      if (saved === undefined) delete process.env['KILN_TUNE'];
      else process.env['KILN_TUNE'] = saved;
      await loadTuningCache();
    }
  });

  it('iteratePth: one call per tensor with its name', async () => {
    const seen: kiln.Progress[] = [];
    const names: string[] = [];
    for await (const [name, t] of kiln.io.iteratePth(new URL('fixtures/io/basic.pth', import.meta.url).pathname, { onProgress: (p) => seen.push(p) })) {
      names.push(name);
      t.dispose();
    }
    expect(seen.map((p) => p.done)).toEqual(names.map((_, i) => i).concat(names.length));
    expect(seen.slice(1).map((p) => p.name)).toEqual(names);
    expect(seen.every((p) => p.total === names.length && p.unit === 'tensors')).toBe(true);
  });

  it('loadWeights: counts the model tensors placed', async () => {
    const config = await kiln.models.loadClipConfig('tiny');
    const model = new kiln.models.ClipModel(config, { deferInit: true });
    const seen: kiln.Progress[] = [];
    const res = await model.loadWeights(iterateSafetensors(modelFixture('clip_tiny.weights.safetensors')), { onProgress: (p) => seen.push(p) });
    expect(seen[0]).toEqual({ done: 0, total: model.stateDict().size, unit: 'tensors' });
    expect(seen.at(-1)!.done).toBe(res.loaded.length);
    expect(seen.slice(1).map((p) => p.name)).toEqual(res.loaded);
    model.dispose();
  });
});
