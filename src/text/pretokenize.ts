// CLIP's pre-tokeniser: cleaned text → words (the units BPE runs inside), each written with the byte
// stand-ins of bytes-unicode.ts. Shared by the tokeniser and the BPE trainer so both see the same words.

import { bytesToUnicode } from './bytes-unicode.js';
import { cleanText } from './clean.js';

export const SOT = '<|startoftext|>';
export const EOT = '<|endoftext|>';
/** Marks the last symbol of a word, so 'a' inside a word and 'a' ending one are different tokens. */
export const END_OF_WORD = '</w>';

/**
 * Upstream's pattern (compiled there with re.IGNORECASE by the `regex` module): the special tokens, the
 * English contractions, runs of letters, single digits, and runs of anything else but whitespace.
 */
export const PRETOKENIZE_RE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/** Splits already-cleaned text into words, as written in the source text. @example splitWords("don't 42") // ['don', "'t", '4', '2'] */
export function splitWords(cleaned: string): string[] {
  return cleaned.match(PRETOKENIZE_RE) ?? [];
}

/** Cleans text and splits it into words written with byte stand-ins (special tokens kept as they are). */
export function pretokenize(text: string): string[] {
  return splitWords(cleanText(text)).map((w) => (w === SOT || w === EOT ? w : bytesToUnicode(w)));
}
