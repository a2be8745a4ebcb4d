// Text clean-up before CLIP tokenisation: an approximation of ftfy.fix_text, HTML unescaping (twice, as
// upstream), whitespace collapsing and lower-casing. Not the tokeniser: see tokenizer.ts.
//
// What is approximated. Upstream runs ftfy.fix_text, which also repairs mojibake (UTF-8 read as Latin-1 or
// cp1252, e.g. 'cafÃ©' → 'café'); that needs ftfy's statistical detector and is NOT done here. What is
// done, following ftfy's default steps: terminal escapes and control characters removed, curly quotes
// straightened, Latin ligatures and full-width characters expanded, NFC normalisation. html.unescape is
// exact (Python's algorithm; the HTML5 name table from the `entities` package).

import { decodeHTML } from 'entities';

/** Python's html._invalid_charrefs: numeric references replaced as HTML5 says (C1 as Windows-1252). */
const INVALID_CHARREFS: ReadonlyMap<number, string> = new Map([
  [0x00, '\ufffd'], [0x0d, '\r'], [0x80, '\u20ac'], [0x81, '\x81'], [0x82, '\u201a'], [0x83, '\u0192'],
  [0x84, '\u201e'], [0x85, '\u2026'], [0x86, '\u2020'], [0x87, '\u2021'], [0x88, '\u02c6'], [0x89, '\u2030'],
  [0x8a, '\u0160'], [0x8b, '\u2039'], [0x8c, '\u0152'], [0x8d, '\x8d'], [0x8e, '\u017d'], [0x8f, '\x8f'],
  [0x90, '\x90'], [0x91, '\u2018'], [0x92, '\u2019'], [0x93, '\u201c'], [0x94, '\u201d'], [0x95, '\u2022'],
  [0x96, '\u2013'], [0x97, '\u2014'], [0x98, '\u02dc'], [0x99, '\u2122'], [0x9a, '\u0161'], [0x9b, '\u203a'],
  [0x9c, '\u0153'], [0x9d, '\x9d'], [0x9e, '\u017e'], [0x9f, '\u0178'],
]);

/** Python's html._invalid_codepoints: numeric references to these are dropped (''). */
function invalidCodePoint(c: number): boolean {
  return (
    (c >= 0x1 && c <= 0x8) || c === 0xb || (c >= 0xe && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
    (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) === 0xfffe // U+xFFFE and U+xFFFF of every plane
  );
}

function numericRef(num: number): string {
  const replaced = INVALID_CHARREFS.get(num);
  if (replaced !== undefined) return replaced;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (invalidCodePoint(num)) return '';
  return String.fromCodePoint(num);
}

// Python's html._charref, with `u` so that {1,32} counts code points as Python does.
const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/**
 * Python's html.unescape: numeric references by its replacement tables (invalid code points dropped,
 * surrogates and out-of-range values as U+FFFD), named ones by the longest HTML5 name that prefixes the
 * reference (legacy names such as `&eacute` need no ';'), anything else left as it is.
 * @example htmlUnescape('caf&eacute &frac13;') // 'café ⅓'
 */
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(CHARREF_RE, (whole, body: string) => {
    if (body.startsWith('#')) {
      const hex = body[1] === 'x' || body[1] === 'X';
      return numericRef(parseInt(body.slice(hex ? 2 : 1).replace(/;$/, ''), hex ? 16 : 10));
    }
    // HTML5's text-mode rule, which `entities` implements: the longest name in the table that prefixes
    // the reference, the rest kept. `body` holds no '&', so exactly this one reference is decoded.
    return decodeHTML(whole);
  });
}

// ftfy's fix_text steps that need no statistics, in ftfy's order. Matching control characters is the point.
/* eslint-disable no-control-regex */
const TERMINAL_ESCAPE_RE = /\u001b\[((?:\d|;)*)([a-zA-Z])/g;
const CONTROL_CHAR_RE = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
const SINGLE_QUOTE_RE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE_RE = /[\u201c-\u201f]/g;
const LIGATURE_RE = /[\u0132\u0133\u013f\u0140\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
/* eslint-enable no-control-regex */

/** The parts of ftfy.fix_text that need no statistics (see the file's opening comment). */
export function fixTextApprox(s: string): string {
  return s
    .replace(TERMINAL_ESCAPE_RE, '')
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    .replace(CONTROL_CHAR_RE, '')
    .replace(SINGLE_QUOTE_RE, "'")
    .replace(DOUBLE_QUOTE_RE, '"')
    .replace(LIGATURE_RE, (c) => c.normalize('NFKC'))
    .replace(WIDTH_RE, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')))
    .normalize('NFC');
}

/** Upstream's basic_clean: fix_text, html.unescape twice, strip. */
export function basicClean(s: string): string {
  return htmlUnescape(htmlUnescape(fixTextApprox(s))).trim();
}

/** Upstream's whitespace_clean: every run of whitespace becomes one space; strip. */
export function whitespaceClean(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

/** CLIP's default cleaning ('lower'): basic clean, whitespace clean, lower-case. @example cleanText(' A&amp;B\n') // 'a&b' */
export function cleanText(s: string): string {
  return whitespaceClean(basicClean(s)).toLowerCase();
}
