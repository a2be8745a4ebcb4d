// The BPE trainer (kiln.text.trainBpe) on a corpus whose merges can be worked out by hand, the
// `kiln bpe-train` command writing a merges file that Tokenizer.fromMergesFile loads, and the shipped
// vocabulary being exactly what scripts/make-corpus.mjs + the trainer produce.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../helpers/cli-io.js';
import * as kiln from '../../src/node.js';
import { runCli } from '../../src/cli/main.js';

// Sennrich et al.'s example: low ×5, lower ×2, newest ×6, widest ×3.
const corpus = 'low low low low low lower lower\nnewest newest newest newest newest newest\nwidest widest widest';

// Worked out by hand: most frequent pair first, ties to the pair whose 'left right' sorts first.
const expected: [string, string, number][] = [
  ['e', 's', 9], // ties with 's t</w>' (9): 'e s' sorts first
  ['es', 't</w>', 9],
  ['l', 'o', 7],
  ['e', 'w', 6], // ties with 'n e' and 'w est</w>'
  ['ew', 'est</w>', 6],
  ['n', 'ewest</w>', 6],
  ['lo', 'w</w>', 5],
  ['d', 'est</w>', 3],
  ['i', 'dest</w>', 3],
  ['w', 'idest</w>', 3],
  ['e', 'r</w>', 2],
  ['lo', 'w', 2],
  ['low', 'er</w>', 2],
];

describe('trainBpe', () => {
  it('learns merges in the expected order, then stops when no pair repeats', () => {
    const r = kiln.text.trainBpe(corpus, { merges: 100 });
    expect(r.merges).toEqual(expected.map(([a, b]) => [a, b]));
    expect(r.counts).toEqual(expected.map(([, , c]) => c));
    expect([r.uniqueWords, r.totalWords]).toEqual([4, 16]);
    expect(kiln.text.trainBpe(corpus, { merges: 3 }).merges).toEqual(expected.slice(0, 3).map(([a, b]) => [a, b]));
    expect(kiln.text.trainBpe(corpus, { merges: 100, minFrequency: 3 }).merges).toHaveLength(10);
  });
  it('gives merges the tokeniser applies the same way: each training word becomes one token', () => {
    const tok = kiln.text.Tokenizer.fromMerges(kiln.text.trainBpe(corpus).merges);
    expect(tok.encode('low lower newest widest').map((id) => tok.vocab[id])).toEqual(['low</w>', 'lower</w>', 'newest</w>', 'widest</w>']);
    expect(tok.encode('lowest').map((id) => tok.vocab[id])).toEqual(['low', 'est</w>']);
  });
  it('learns ~1 MB of text in seconds; frequent words become single tokens', () => {
    // ~1 MB of pseudo-words from a seeded generator.
    let s = 7;
    const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
    const letters = 'etaoinshrdlucmfwypvbgkjqxz';
    const word = (): string => Array.from({ length: 2 + Math.floor(rand() * 8) }, () => letters[Math.floor(rand() ** 2 * 26)]).join('');
    const vocab = Array.from({ length: 5000 }, word);
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(Array.from({ length: 8 }, () => vocab[Math.floor(rand() ** 2 * vocab.length)]).join(' ') + '.');
    const text = lines.join('\n');
    expect(text.length).toBeGreaterThan(700_000);
    const t0 = performance.now();
    const r = kiln.text.trainBpe(text, { merges: 2000 });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.merges.length).toBeGreaterThan(1000);
    expect(seconds).toBeLessThan(20);
    // Counts never increase from one merge to the next.
    for (let i = 1; i < r.counts.length; i++) expect(r.counts[i]!).toBeLessThanOrEqual(r.counts[i - 1]!);
    const tok = kiln.text.Tokenizer.fromMerges(r.merges);
    // The most frequent words (the generator favours the start of the list) end as one token each.
    for (const w of vocab.slice(0, 10)) expect(tok.encode(w), w).toHaveLength(1);
    for (const w of vocab.slice(0, 200)) expect(tok.decode(tok.encode(w))).toBe(`${w} `);
  });
});

describe('kiln bpe-train', () => {
  it('writes a gzipped merges file with a version header that fromMergesFile loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-bpe-'));
    writeFileSync(join(dir, 'corpus.txt'), corpus);
    const out = join(dir, 'merges.txt.gz');
    const cap = captureIo();
    const rc = await runCli(['bpe-train', '--corpus', join(dir, 'corpus.txt'), '--merges', '5', '--out', out], cap.io);
    expect(rc, cap.err.join('\n')).toBe(0);
    expect(cap.out[0]).toMatch(/5 merges from 16 words \(4 distinct\)/);
    const bytes = readFileSync(out);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const text = new TextDecoder().decode(await import('node:zlib').then((z) => z.gunzipSync(bytes)));
    expect(text.split('\n').slice(0, 3)).toEqual(['#version: 0.2', 'e s', 'es t</w>']);
    const tok = await kiln.text.Tokenizer.fromMergesFile(out);
    expect(tok.merges).toEqual(expected.slice(0, 5).map(([a, b]) => [a, b]));
  });
  it('reports bad usage with exit status 2 and failures with 1', async () => {
    let cap = captureIo();
    expect(await runCli(['bpe-train'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/--corpus <file> is required/);
    cap = captureIo();
    expect(await runCli(['bpe-train', '--corpus', 'x', '--merges', 'many'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/--merges must be a non-negative integer, got 'many'/);
    cap = captureIo();
    expect(await runCli(['bpe-train', '--corpus', 'x', '--bogus'], cap.io)).toBe(2);
    cap = captureIo();
    expect(await runCli(['no-such-command'], cap.io)).toBe(2);
    expect(cap.err[0]).toMatch(/unknown command 'no-such-command'/);
    cap = captureIo();
    expect(await runCli(['bpe-train', '--corpus', '/nonexistent/corpus.txt'], cap.io)).toBe(1);
    cap = captureIo();
    expect(await runCli(['--help'], cap.io)).toBe(0);
    expect(cap.out[0]).toMatch(/bpe-train/);
  });
});

describe('the shipped vocabulary', () => {
  it('is what scripts/make-corpus.mjs and the trainer produce', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-corpus-'));
    const corpusPath = join(dir, 'corpus.txt');
    execFileSync(process.execPath, ['scripts/make-corpus.mjs', corpusPath]);
    const learned = kiln.text.trainBpe(readFileSync(corpusPath, 'utf8'), { merges: 4000 }).merges;
    const shipped = await kiln.text.Tokenizer.fromMergesFile(kiln.text.DEFAULT_MERGES_URL);
    expect(shipped.merges).toEqual(learned);
  });
});
