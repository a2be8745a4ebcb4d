// File-backed data on small generated sets: each source (CSV, TSV, JSONL, COCO, folders, tar shards) read,
// skipped and filtered samples counted, batches and resume positions identical with 0, 1 and 3 decode
// workers, manifests fuzzed, and fit() resumed exactly mid-run on a CSV with dataWait and the counts row.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../../src/node.js';
import { ConfigError } from '../../../src/train/config.js';
import { streamData } from '../../../src/train/data/build.js';
import type { StreamDataSection } from '../../../src/train/data/kinds.js';
import { parseCocoManifest, parseCsvManifest, parseJsonlManifest } from '../../../src/train/data/manifest.js';
import type { StreamLoader } from '../../../src/train/data/stream.js';
import { rng } from '../../helpers/random.js';
import { makeTar } from '../../helpers/tar.js';

const N = 20;
const WORDS = ['red', 'green', 'blue', 'square', 'circle', 'stripe', 'small', 'large'];
const inputs = { image: { shape: [3, 32, 32], dtype: 'f32' as const }, text: { shape: [16], dtype: 'i32' as const, vocab: 4431 } };
let dir = '';
const captions: string[] = [];

function png(i: number): Uint8Array {
  const u = rng(1000 + i);
  const [w, h] = [20 + (i % 3) * 4, 24];
  return encode({ width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(u() * 256)), channels: 3, depth: 8 });
}

beforeAll(async () => {
  await kiln.init();
  dir = mkdtempSync(join(tmpdir(), 'kiln-sources-'));
  for (const d of ['images', 'texts']) mkdirSync(join(dir, d));
  for (let i = 0; i < N; i++) {
    const u = rng(i);
    captions.push(Array.from({ length: 2 + (i % 4) }, () => WORDS[Math.floor(u() * WORDS.length)]).join(' '));
    writeFileSync(join(dir, 'images', `${i}.png`), i === 3 ? new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]) : png(i)); // 3: corrupt
    writeFileSync(join(dir, 'texts', `${i}.txt`), captions[i]!);
  }
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  writeFileSync(join(dir, 'a.csv'), ['filepath,title', ...captions.map((c, i) => `images/${i === 5 ? 'absent' : i}.png,${q(`${c}, "quoted"`)}`), 'images/1.png'].join('\n'));
  writeFileSync(join(dir, 'a.tsv'), ['title\tfilepath', ...captions.map((c, i) => `${c}\timages/${i}.png`)].join('\n'));
  writeFileSync(join(dir, 'a.jsonl'), [...captions.map((c, i) => JSON.stringify({ image: `images/${i}.png`, caption: c, t_image: i, t_text: i + (i % 2) })), '{broken'].join('\n'));
  const coco = { images: captions.map((_, i) => ({ id: i + 100, file_name: `${i}.png` })), annotations: captions.flatMap((c, i) => [{ image_id: i + 100, caption: c }, { image_id: i + 100, caption: `${c} again` }]) };
  writeFileSync(join(dir, 'coco.json'), JSON.stringify(coco));
  const members = captions.flatMap((c, i) => [[`s/${i}.png`, i === 3 ? 'junk' : png(i)], [`s/${i}.txt`, c]] as [string, Uint8Array | string][]);
  writeFileSync(join(dir, 'shard-0.tar'), await makeTar(members.slice(0, N)));
  writeFileSync(join(dir, 'shard-1.tar'), await makeTar(members.slice(N)));
});
afterAll(() => undefined);

const common = { workers: 0, onError: 'skip', tokenizer: null, shuffle: true, heldOut: 0, filters: { minCaptionTokens: 0, minSnrDb: null, maxTimeOffset: null }, augment: { cropScale: [0.9, 1], flip: true, colorJitter: 0.3, audioNoise: 0 } } as const;
const manifest = { columns: {}, times: {}, root: null };
function section(kind: StreamDataSection['kind'], over: Partial<Record<string, unknown>> = {}): StreamDataSection {
  const s: Record<StreamDataSection['kind'], StreamDataSection> = {
    csv: { kind: 'csv', file: join(dir, 'a.csv'), separator: null, ...manifest, ...common },
    jsonl: { kind: 'jsonl', file: join(dir, 'a.jsonl'), ...manifest, ...common },
    coco: { kind: 'coco', file: join(dir, 'coco.json'), root: join(dir, 'images'), ...common },
    folders: { kind: 'folders', dirs: { image: join(dir, 'images'), text: join(dir, 'texts') }, ...common },
    webdataset: { kind: 'webdataset', shards: [join(dir, 'shard-{0..1}.tar')].flatMap((p) => [p.replace('{0..1}', '0'), p.replace('{0..1}', '1')]), extensions: {}, shuffleBuffer: 4, maxMemberBytes: 1 << 20, ...common },
  };
  return { ...s[kind], ...over };
}

async function open(d: StreamDataSection, batchSize = 4): Promise<StreamLoader> {
  return (await streamData(d, { seed: 7, batchSize, inputs, modalities: ['image', 'text'] })).loader;
}

/** The next `n` batches' bytes (and their tensors freed). */
async function take(l: StreamLoader, n: number): Promise<{ image: number[]; text: number[]; epoch: number }[]> {
  const out = [];
  for (let k = 0; k < n; k++) {
    const b = await l.next();
    out.push({ image: [...(await b.inputs['image']!.data())], text: [...(await b.inputs['text']!.data())], epoch: b.epoch });
    for (const t of Object.values(b.inputs)) t.dispose();
  }
  return out;
}

describe('file-backed data sources', () => {
  it('reads each source and counts what it skips and filters', async () => {
    // In order (no shuffle), so the bad rows (3: a corrupt PNG, 5: a missing file in the CSV) come within 4 batches.
    const cases: [StreamDataSection, Record<string, number>][] = [
      [section('csv'), { corrupt: 1, missing: 1, manifest: 1 }],
      [section('csv', { file: join(dir, 'a.tsv') }), { corrupt: 1 }],
      [section('jsonl'), { corrupt: 1, manifest: 1 }],
      [section('coco'), { corrupt: 1 }],
      [section('folders'), { corrupt: 1 }],
      [section('webdataset'), { corrupt: 1 }],
    ];
    for (const [given, skipped] of cases) {
      const d = { ...given, shuffle: false };
      const l = await open(d);
      expect(l.stepsPerEpoch, d.kind).toBe(N / 4);
      const batches = await take(l, 4);
      expect(batches.every((b) => b.image.length === 4 * 3 * 32 * 32 && b.text.length === 4 * 16)).toBe(true);
      const c = l.counts();
      expect(c.skipped, `${d.kind} ${JSON.stringify(c)}`).toEqual(skipped);
      await l.close();
    }
    // Filters: captions under 4 tokens, and streams more than 0.5 s apart (odd rows of the JSONL are 1 s apart).
    const f = await open(section('jsonl', { times: { image: 't_image', text: 't_text' }, filters: { minCaptionTokens: 4, minSnrDb: null, maxTimeOffset: 0.5 } }), 2);
    await take(f, 2);
    expect(Object.keys(f.counts().filtered).sort()).toEqual(['captionTokens', 'timeOffset']);
    await f.close();
    // Every caption filtered: the loader stops with the counts instead of spinning through epochs.
    const none = await open(section('folders', { filters: { minCaptionTokens: 99, minSnrDb: null, maxTimeOffset: null } }));
    await expect(take(none, 1)).rejects.toThrow(/epoch 0 has fewer than batchSize \(4\) usable samples.*captionTokens/);
    await none.close();
    // onError 'stop': the corrupt image stops the epoch with a message naming it.
    const s = await open(section('folders', { onError: 'stop', shuffle: false }));
    await expect(take(s, 5)).rejects.toThrow(/3\.png.*\[corrupt\].*onError is 'stop'/);
    await s.close();
  });

  it('gives the same batches and resumes at the same position with 0, 1 and 3 workers (manifest and tar buffer)', async () => {
    for (const kind of ['csv', 'webdataset'] as const) {
      const ref = await open(section(kind));
      const all = await take(ref, 6); // crosses into the second epoch
      await ref.close();
      const positions: unknown[] = [];
      for (const workers of [0, 1, 3]) {
        const a = await open(section(kind, { workers }));
        const first = await take(a, 2);
        const pos = a.position();
        positions.push(pos);
        await a.close();
        const b = await open(section(kind, { workers }));
        b.restore(JSON.parse(JSON.stringify(pos)) as typeof pos);
        const rest = await take(b, 4);
        expect([...first, ...rest], `${kind} with ${workers} workers`).toEqual(all);
        await b.close();
      }
      expect(positions[1], kind).toEqual(positions[0]);
      expect(positions[2], kind).toEqual(positions[0]);
    }
  });

  it('fuzz: truncated and malformed manifests give a ConfigError or counted skips', () => {
    const u = rng(5);
    const L = { columns: { image: 'filepath', text: 'title' }, times: {}, textModality: 'text', root: dir, stop: false };
    const csv = readFileSync(join(dir, 'a.csv'), 'utf8');
    const jsonl = readFileSync(join(dir, 'a.jsonl'), 'utf8');
    const coco = readFileSync(join(dir, 'coco.json'), 'utf8');
    for (let t = 0; t < 60; t++) {
      const mangle = (s: string): string => {
        const cut = s.slice(0, Math.floor(u() * s.length));
        const at = Math.floor(u() * cut.length);
        return t % 2 ? cut : cut.slice(0, at) + '"\n{,\t' [Math.floor(u() * 5)] + cut.slice(at + 1);
      };
      for (const f of [
        () => parseCsvManifest(mangle(csv), 'a.csv', ',', L),
        () => parseJsonlManifest(mangle(jsonl), 'a.jsonl', { ...L, columns: { image: 'image', text: 'caption' } }),
        () => parseCocoManifest(mangle(coco), 'coco.json', 'image', dir, false),
      ]) {
        try {
          const m = f();
          expect(m.records.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(ConfigError);
        }
      }
    }
  });

  it('fit on a CSV: interrupted after a checkpoint and resumed, the same rows; dataWait and the data counts row', async () => {
    const cfg = {
      model: { kind: 'clip' as const, config: 'examples/configs/clip-tiny-text.json' },
      data: { kind: 'csv' as const, file: join(dir, 'a.csv'), workers: 1 },
      batchSize: 4,
      steps: 4,
      logEvery: 1,
      checkpointEvery: 2,
    };
    const ref = join(dir, 'run-ref');
    const printed: string[] = [];
    await kiln.train.fit({ ...cfg, out: ref }, { print: (l) => printed.push(l) });
    const out = join(dir, 'run-cut');
    await expect(kiln.train.fit({ ...cfg, out }, { callbacks: { onCheckpoint: ({ step }) => { if (step === 2) throw new Error('cut'); } } })).rejects.toThrow('cut');
    await kiln.train.fit({ ...cfg, out }, { resume: 'auto' });
    const rows = (o: string): Record<string, unknown>[] =>
      readFileSync(join(o, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as Record<string, unknown>);
    const strip = (r: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(r).filter(([k]) => !(kiln.train.WALL_CLOCK_FIELDS as readonly string[]).includes(k)));
    expect(rows(out).map(strip)).toEqual(rows(ref).map(strip));
    expect(rows(ref).filter((r) => 'loss' in r).every((r) => typeof r['dataWait'] === 'number' && (r['dataWait']) >= 0)).toBe(true);
    const last = rows(ref).at(-1)!;
    expect(last['step']).toBe(4);
    expect(last['data']).toMatchObject({ skipped: { manifest: 1 } });
    expect(printed.at(-1)).toMatch(/^data: read \d+; skipped .*manifest 1/);
  });
});
