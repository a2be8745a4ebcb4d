// CLIP's BPE tokeniser: the byte table, cleaning, the pre-tokeniser, BPE on a hand-made merges list, the
// [B, 77] batch with SOT/EOT, padding and truncation, the shipped vocabulary, and (when KILN_CLIP_BPE names
// CLIP's bpe_simple_vocab_16e6.txt.gz) ids checked against upstream's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';

const { Tokenizer } = kiln.text;

// Merges that build 'hello</w>': he=512, ll=513, hell=514, hello</w>=515; SOT=516, EOT=517.
const tiny = Tokenizer.fromMerges([
  ['h', 'e'],
  ['l', 'l'],
  ['he', 'll'],
  ['hell', 'o</w>'],
]);
// Vocabulary id of a printable ASCII byte: '!' is 0, and they follow in byte order.
const ascii = (c: string): number => c.charCodeAt(0) - 0x21;
const asciiEnd = (c: string): number => 256 + ascii(c);

describe('byte table', () => {
  it('maps 256 bytes to distinct printable stand-ins, in CLIP order', () => {
    expect(new Set(kiln.text.BYTE_TO_CHAR).size).toBe(256);
    expect(kiln.text.BYTE_TO_CHAR[0x61]).toBe('a');
    expect(kiln.text.BYTE_TO_CHAR[0x20]).toBe('\u0120'); // space → 'Ġ'
    expect(kiln.text.BYTE_ORDER[0]).toBe(0x21);
    expect(kiln.text.bytesToUnicode('é')).toBe('Ã©');
    expect(tiny.vocab[0]).toBe('!');
    expect(tiny.vocab[256]).toBe('!</w>');
  });
});

describe('cleaning and pre-tokenising', () => {
  it('lower-cases, collapses whitespace and unescapes HTML twice', () => {
    expect(kiln.text.cleanText('  A  PHOTO\tof\n\nthe SKY  ')).toBe('a photo of the sky');
    expect(kiln.text.cleanText('rock &amp;amp; roll &#39;n&#x27; &lt;3')).toBe("rock & roll 'n' <3");
    expect(kiln.text.htmlUnescape('&notanentity; &amp')).toBe('¬anentity; &'); // Python: the legacy name 'not' is a prefix
  });
  it('approximates ftfy: quotes, ligatures, full-width, NFC', () => {
    expect(kiln.text.cleanText('Don\u2019t \u201cfine\u201d')).toBe('don\'t "fine"');
    expect(kiln.text.cleanText('\ufb01ne \uff21\uff22\uff23')).toBe('fine abc');
    expect(kiln.text.cleanText('a\u0301')).toBe('\u00e1');
  });
  it('splits contractions, single digits and punctuation runs', () => {
    const split = (s: string): string[] => kiln.text.splitWords(kiln.text.cleanText(s));
    expect(split("don't")).toEqual(['don', "'t"]);
    expect(split("We'll see, it's 2024!!!")).toEqual(['we', "'ll", 'see', ',', 'it', "'s", '2', '0', '2', '4', '!!!']);
    expect(split('x2y 3.14 ...?!')).toEqual(['x', '2', 'y', '3', '.', '1', '4', '...?!']);
    expect(split('привет, мир')).toEqual(['привет', ',', 'мир']);
    expect(split('<|startoftext|>hi<|endoftext|>')).toEqual(['<|startoftext|>', 'hi', '<|endoftext|>']);
  });
});

describe('BPE with a hand-made merges list', () => {
  it('builds the vocabulary: 256 + 256 + merges + SOT + EOT', () => {
    expect(tiny.vocabSize).toBe(518);
    expect(tiny.sotTokenId).toBe(516);
    expect(tiny.eotTokenId).toBe(517);
    expect(tiny.vocab[515]).toBe('hello</w>');
  });
  it('applies merges by rank and marks word ends', () => {
    expect(tiny.encode('hello')).toEqual([515]);
    expect(tiny.encode('HeLLo   HELLO')).toEqual([515, 515]);
    expect(tiny.encode('hell')).toEqual([512, ascii('l'), asciiEnd('l')]);
    expect(tiny.encode('help')).toEqual([512, ascii('l'), asciiEnd('p')]);
    expect(tiny.encode('o')).toEqual([asciiEnd('o')]);
    expect(tiny.encode("hello, don't")).toEqual([515, asciiEnd(','), ascii('d'), ascii('o'), asciiEnd('n'), ascii("'"), asciiEnd('t')]);
    expect(tiny.encode('hi<|endoftext|>')).toEqual([ascii('h'), asciiEnd('i'), 517]);
  });
  it('falls back to bytes for emoji and non-Latin text, and decodes them back', () => {
    const emoji = tiny.encode('🙂');
    expect(emoji).toHaveLength(4); // F0 9F 99 82, the last with </w>
    expect(emoji[3]).toBeGreaterThanOrEqual(256);
    expect(tiny.decode(emoji)).toBe('🙂 ');
    expect(tiny.encode('привет')).toHaveLength(12);
    expect(tiny.decode(tiny.encode('привет мир 日本'))).toBe('привет мир 日本 ');
  });
  it('decodes as upstream: </w> → space, special tokens spelled out unless skipped', () => {
    expect(tiny.decode([516, 515, 515, 517])).toBe('<|startoftext|>hello hello <|endoftext|>');
    expect(tiny.decode([516, 515, 517, 0, 0], { skipSpecial: true })).toBe('hello ');
    expect(() => tiny.decode([518])).toThrow(/id 518 at position 0 is outside the vocabulary/);
  });
  it('caches words without changing results', () => {
    const a = tiny.encode('hello help hello');
    expect(tiny.encode('hello help hello')).toEqual(a);
  });
});

describe('batches: SOT/EOT, padding, truncation', () => {
  it('pads each row to 77 with zeros after EOT', async () => {
    const t = tiny.tokenize(['hello', 'hello hello']);
    expect(t.shape).toEqual([2, 77]);
    expect(t.dtype).toBe('i32');
    const ids = Array.from(await t.data());
    expect(ids.slice(0, 4)).toEqual([516, 515, 517, 0]);
    expect(ids.slice(77, 82)).toEqual([516, 515, 515, 517, 0]);
    expect(ids.slice(82, 154).every((v) => v === 0)).toBe(true);
    t.dispose();
  });
  it('truncates a long text and keeps EOT as the last token', () => {
    const long = Array.from({ length: 200 }, () => 'hello').join(' ');
    const row = tiny.encodeBatch(long);
    expect(row).toHaveLength(77);
    expect(row[0]).toBe(516);
    expect(row[76]).toBe(517);
    expect(Array.from(row.slice(1, 76)).every((v) => v === 515)).toBe(true);
    const short = tiny.encodeBatch('hello hello hello', 3);
    expect(Array.from(short)).toEqual([516, 515, 517]);
  });
  it('rejects an empty text by index (upstream’s [SOT, EOT] on request) and non-strings by index', () => {
    expect(() => tiny.encodeBatch(['hello', '   '])).toThrow(/tokenize: text 1 is empty \(no tokens after cleaning: " {3}"\)/);
    expect(Array.from(tiny.encodeBatch(['', '   '], 77, { allowEmpty: true }).slice(0, 3))).toEqual([516, 517, 0]);
    expect(Array.from(tiny.encodeBatch(['', '   '], 77, { allowEmpty: true }).slice(77, 80))).toEqual([516, 517, 0]);
    expect(() => tiny.encodeBatch(['a', 'b', 3 as unknown as string])).toThrow('tokenize: text 2 is not a string (got number)');
    expect(() => tiny.encodeBatch(['a'], 0)).toThrow(/contextLength must be a positive integer/);
    expect(() => tiny.encode(null as unknown as string)).toThrow(/expected a string, got null/);
  });
});

describe('merges files', () => {
  it('reads plain or gzipped bytes, skipping the header and blank lines, up to maxMerges', async () => {
    const text = kiln.text.formatMerges([['h', 'e'], ['l', 'l'], ['he', 'll']]);
    expect(text.split('\n')[0]).toBe('#version: 0.2');
    const bytes = new TextEncoder().encode(text + '\n\n');
    expect((await Tokenizer.fromMergesFile(bytes)).merges).toEqual([['h', 'e'], ['l', 'l'], ['he', 'll']]);
    const gz = await kiln.text.gzip(bytes);
    expect(gz[0]).toBe(0x1f);
    expect((await Tokenizer.fromMergesFile(gz, { maxMerges: 2 })).vocabSize).toBe(512 + 2 + 2);
    expect(() => kiln.text.parseMerges('#v\na b c\n')).toThrow(/line 2 is not 'left right'/);
  });
});

describe('the shipped vocabulary', () => {
  it('loads once and tokenizes captions into whole-word tokens', async () => {
    const tok = await kiln.text.defaultTokenizer();
    expect(await kiln.text.defaultTokenizer()).toBe(tok);
    expect(tok.merges.length).toBeGreaterThan(3000);
    expect(tok.vocabSize).toBe(512 + tok.merges.length + 2);
    for (const w of ['a', 'dog', 'photo', 'barking', 'the']) expect(tok.encode(w), w).toHaveLength(1);
    const ids = tok.encodeBatch(['A photo of a dog barking.', 'Rain on a roof']);
    expect(ids[0]).toBe(tok.sotTokenId);
    expect(tok.decode(ids.slice(0, 77), { skipSpecial: true })).toBe('a photo of a dog barking . ');
  });
  it('round-trips decode(encode(x)) up to the spaces decoding puts at word ends', async () => {
    const tok = await kiln.text.defaultTokenizer();
    for (const x of ['A graceful whale, it\'s 42 m long!', 'Ça va? 🙂 日本語', 'rain &amp; thunder']) {
      const cleaned = kiln.text.cleanText(x);
      expect(tok.decode(tok.encode(x)).replaceAll(' ', '')).toBe(cleaned.replaceAll(' ', ''));
    }
    expect(tok.decode(tok.encode('a dog in the rain'))).toBe('a dog in the rain ');
  });
});

const clipPath = process.env['KILN_CLIP_BPE'];
describe.skipIf(!clipPath)("CLIP's bpe_simple_vocab_16e6.txt.gz (KILN_CLIP_BPE)", () => {
  it('gives upstream ids and decodings, SOT 49406 and EOT 49407', async () => {
    const tok = await Tokenizer.fromMergesFile(clipPath!);
    expect(tok.merges).toHaveLength(48894);
    expect([tok.vocabSize, tok.sotTokenId, tok.eotTokenId]).toEqual([49408, 49406, 49407]);
    const ref = JSON.parse(readFileSync(new URL('./fixtures/clip-reference.json', import.meta.url), 'utf8')) as {
      cases: { text: string; ids: number[]; decoded: string }[];
    };
    for (const c of ref.cases) {
      expect(tok.encode(c.text), c.text).toEqual(c.ids);
      expect(tok.decode(c.ids), c.text).toBe(c.decoded);
    }
    expect(Array.from(tok.encodeBatch('a photo of a dog').slice(0, 8))).toEqual([49406, 320, 1125, 539, 320, 1929, 49407, 0]);
  });
});
