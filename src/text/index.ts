// kiln.text: CLIP's byte-level BPE tokeniser, its text cleaning, merges-file I/O and a BPE trainer.

import { Tokenizer } from './tokenizer.js';

export { Tokenizer, CLIP_MAX_MERGES, DEFAULT_CONTEXT_LENGTH, type FromMergesOptions, type DecodeOptions } from './tokenizer.js';
export { trainBpe, type TrainBpeOptions, type TrainBpeResult } from './bpe-train.js';
export { type Merge, type MergesSource, MERGES_HEADER, parseMerges, formatMerges, readMergesText, gzip } from './merges-file.js';
export { cleanText, basicClean, whitespaceClean, htmlUnescape, fixTextApprox } from './clean.js';
export { pretokenize, splitWords, PRETOKENIZE_RE, SOT, EOT, END_OF_WORD } from './pretokenize.js';
export { bytesToUnicode, BYTE_TO_CHAR, BYTE_ORDER } from './bytes-unicode.js';

/** Kiln's small shipped vocabulary (a few thousand merges learned by `kiln bpe-train` on a generated corpus). */
export const DEFAULT_MERGES_URL = new URL('../../assets/tokenizer/kiln-bpe-4k.txt.gz', import.meta.url);

let defaultPromise: Promise<Tokenizer> | null = null;

/**
 * The tokeniser of Kiln's shipped vocabulary, for tests and demos (CLIP's own file is not shipped: load
 * it with Tokenizer.fromMergesFile). Loaded once.
 * @example const tok = await kiln.text.defaultTokenizer(); tok.tokenize(['a dog barking']);
 */
export function defaultTokenizer(): Promise<Tokenizer> {
  defaultPromise ??= Tokenizer.fromMergesFile(DEFAULT_MERGES_URL).catch((e: unknown) => {
    defaultPromise = null;
    throw e;
  });
  return defaultPromise;
}
