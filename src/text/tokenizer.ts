// CLIP's byte-level BPE tokeniser (OpenAI CLIP's SimpleTokenizer, as used by OpenCLIP and ImageBind):
// text → ids, ids → text, and a batch of texts → an i32 [B, 77] tensor. Cleaning is in clean.ts, the
// pre-tokeniser in pretokenize.ts, file I/O in merges-file.ts; learning merges is bpe-train.ts.

import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { BYTE_ORDER, BYTE_TO_CHAR, CHAR_TO_BYTE } from './bytes-unicode.js';
import { type Merge, type MergesSource, parseMerges, readMergesText } from './merges-file.js';
import { END_OF_WORD, EOT, SOT, pretokenize } from './pretokenize.js';

/** Upstream reads `merges[1 : 49152-256-2+1]`: at most 48,894 merges, so the vocabulary is 49,408. */
export const CLIP_MAX_MERGES = 49152 - 256 - 2;
/** CLIP's text context: SOT, up to 75 tokens, EOT. */
export const DEFAULT_CONTEXT_LENGTH = 77;
/** Words kept in the BPE cache before it is emptied (upstream's grows without bound). */
const CACHE_LIMIT = 100_000;

export interface FromMergesOptions {
  /** Merges read after the header line; default CLIP_MAX_MERGES, as upstream. */
  readonly maxMerges?: number;
}

export interface DecodeOptions {
  /** Drop SOT and everything from the first EOT on (EOT itself and the zero padding after it). */
  readonly skipSpecial?: boolean;
}

const pairKey = (a: string, b: string): string => `${a} ${b}`;

export class Tokenizer {
  /** The merges, best first; merge i makes vocabulary id 512 + i. */
  readonly merges: readonly Merge[];
  /** 256 bytes + 256 bytes+`</w>` + merges + SOT + EOT. */
  readonly vocabSize: number;
  readonly sotTokenId: number;
  readonly eotTokenId: number;
  /** Vocabulary strings by id (byte stand-ins, `</w>` marking a word's end). */
  readonly vocab: readonly string[];
  private readonly encoder = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly number[]>();

  private constructor(merges: readonly Merge[]) {
    this.merges = merges;
    const base = BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]!);
    const vocab = [...base, ...base.map((c) => c + END_OF_WORD), ...merges.map(([a, b]) => a + b), SOT, EOT];
    this.vocab = vocab;
    // Upstream builds dict(zip(vocab, ids)): a string that two merges both make keeps the later id.
    vocab.forEach((s, id) => this.encoder.set(s, id));
    merges.forEach(([a, b], rank) => {
      if (!this.ranks.has(pairKey(a, b))) this.ranks.set(pairKey(a, b), rank);
    });
    this.vocabSize = vocab.length;
    this.sotTokenId = vocab.length - 2;
    this.eotTokenId = vocab.length - 1;
  }

  /**
   * A tokeniser from merges already in memory: a list of pairs, or a merges file's text (header line first).
   * @example const tok = kiln.text.Tokenizer.fromMerges([['h', 'e'], ['l', 'l'], ['he', 'll'], ['o', '</w>']]);
   */
  static fromMerges(merges: readonly Merge[] | string, opts: FromMergesOptions = {}): Tokenizer {
    const max = opts.maxMerges ?? CLIP_MAX_MERGES;
    return new Tokenizer(typeof merges === 'string' ? parseMerges(merges, max) : merges.slice(0, max));
  }

  /**
   * A tokeniser from a merges file such as CLIP's `bpe_simple_vocab_16e6.txt.gz` (gzipped or plain), given
   * as a path, a URL or its bytes. Nothing is downloaded unless you pass an http(s) URL.
   * @example const tok = await kiln.text.Tokenizer.fromMergesFile('bpe_simple_vocab_16e6.txt.gz');
   */
  static async fromMergesFile(src: MergesSource, opts: FromMergesOptions = {}): Promise<Tokenizer> {
    return Tokenizer.fromMerges(await readMergesText(src), opts);
  }

  /** The ids of one pre-tokenised word (byte stand-ins), merging pairs in rank order. */
  bpe(word: string): readonly number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let symbols = [...word.slice(0, -1), word.slice(-1) + END_OF_WORD];
    while (symbols.length > 1) {
      // The pair with the lowest rank; all its occurrences merge, left to right.
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = this.ranks.get(pairKey(symbols[i]!, symbols[i + 1]!));
        if (r !== undefined && r < best) [best, first, second] = [r, symbols[i]!, symbols[i + 1]!];
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === first && symbols[i + 1] === second) {
          next.push(first + second);
          i++;
        } else {
          next.push(symbols[i]!);
        }
      }
      symbols = next;
    }
    const ids = symbols.map((s) => {
      const id = this.encoder.get(s);
      if (id === undefined) throw new Error(`Tokenizer: symbol ${JSON.stringify(s)} is not in the vocabulary`);
      return id;
    });
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /**
   * Text → ids, without SOT/EOT: cleaned, lower-cased, pre-tokenised, byte-encoded, BPE-merged. The
   * strings '<|startoftext|>' and '<|endoftext|>' in the text become the special ids, as upstream.
   * @example tok.encode('a dog barking') // ids
   */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new Error(`Tokenizer.encode: expected a string, got ${describe(text)}`);
    const ids: number[] = [];
    for (const word of pretokenize(text)) {
      if (word === SOT) ids.push(this.sotTokenId);
      else if (word === EOT) ids.push(this.eotTokenId);
      else for (const id of this.bpe(word)) ids.push(id);
    }
    return ids;
  }

  /**
   * Ids → text, as upstream: each `</w>` becomes a space (so words end with one), invalid UTF-8 becomes
   * U+FFFD, SOT/EOT are spelled out unless `skipSpecial`.
   * @example tok.decode(tok.encode('a dog')) // 'a dog '
   */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new Error(`Tokenizer.decode: id ${id} at position ${i} is outside the vocabulary [0, ${this.vocabSize})`);
      if (opts.skipSpecial && id === this.sotTokenId) continue;
      if (opts.skipSpecial && id === this.eotTokenId) break;
      text += this.vocab[id]!;
    }
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = CHAR_TO_BYTE.get(text[i]!)!;
    return new TextDecoder('utf-8').decode(bytes).replaceAll(END_OF_WORD, ' ');
  }

  /**
   * Texts → ids laid out [B, contextLength]: SOT + encode(text) + EOT, zero-padded; a longer row is cut
   * to contextLength and its last token set to EOT (so EOT-pooling models find it). A text with no tokens
   * after cleaning is an error (it would embed as nothing but the special tokens); `allowEmpty: true` gives
   * upstream's [SOT, EOT, 0, …] instead.
   * @example const ids = tok.encodeBatch(['a dog', 'a cat']); // Int32Array(154)
   */
  encodeBatch(texts: string | readonly string[], contextLength = DEFAULT_CONTEXT_LENGTH, opts: { allowEmpty?: boolean } = {}): Int32Array {
    const list = typeof texts === 'string' ? [texts] : texts;
    if (!Array.isArray(list)) throw new Error(`tokenize: expected a string or an array of strings, got ${describe(texts)}`);
    if (!Number.isInteger(contextLength) || contextLength < 1)
      throw new Error(`tokenize: contextLength must be a positive integer, got ${contextLength}`);
    const out = new Int32Array(list.length * contextLength);
    list.forEach((text: unknown, i) => {
      if (typeof text !== 'string') throw new Error(`tokenize: text ${i} is not a string (got ${describe(text)})`);
      const body = this.encode(text);
      if (body.length === 0 && !opts.allowEmpty)
        throw new Error(`tokenize: text ${i} is empty (no tokens after cleaning: ${JSON.stringify(text)}); pass { allowEmpty: true } for upstream's [SOT, EOT]`);
      const row = [this.sotTokenId, ...body, this.eotTokenId];
      if (row.length > contextLength) {
        row.length = contextLength;
        row[contextLength - 1] = this.eotTokenId;
      }
      out.set(row, i * contextLength);
    });
    return out;
  }

  /**
   * Texts → an i32 tensor [B, contextLength] of ids (see encodeBatch). Needs `await kiln.init()` first.
   * @example const ids = tok.tokenize(['a photo of a dog', 'rain on a roof']); // [2, 77] i32
   */
  tokenize(texts: string | readonly string[], contextLength = DEFAULT_CONTEXT_LENGTH, opts: { allowEmpty?: boolean } = {}): Tensor {
    const ids = this.encodeBatch(texts, contextLength, opts);
    return tensor(ids, { shape: [ids.length / contextLength, contextLength], dtype: 'i32' });
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
