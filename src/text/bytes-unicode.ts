// GPT-2/CLIP's reversible byte ↔ character table: each of the 256 byte values gets a printable stand-in, so
// BPE works on strings with no whitespace or control characters. Not a text encoder: see tokenizer.ts.

// Bytes that stand for themselves: '!'..'~', '¡'..'¬', '®'..'ÿ'.
const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);

/**
 * The 256 stand-ins, in the order CLIP's vocabulary lists them: first the bytes that are printable as
 * themselves ('!'..'~', '¡'..'¬', '®'..'ÿ'), then the 68 others mapped to U+0100 upwards in byte order.
 * `BYTE_ORDER[i]` is the byte whose stand-in has vocabulary id i.
 */
export const BYTE_ORDER: readonly number[] = [...Array(256).keys()].filter(printable).concat([...Array(256).keys()].filter((b) => !printable(b)));

/** byte → its one-character stand-in: itself when printable, else U+0100 + its rank among the others. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  let next = 0;
  return [...Array(256).keys()].map((b) => String.fromCharCode(printable(b) ? b : 256 + next++));
})();

/** stand-in character → byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const utf8 = new TextEncoder();

/** A string's UTF-8 bytes written with their stand-ins. @example bytesToUnicode('é') // 'Ã©' */
export function bytesToUnicode(s: string): string {
  let out = '';
  for (const b of utf8.encode(s)) out += BYTE_TO_CHAR[b]!;
  return out;
}
