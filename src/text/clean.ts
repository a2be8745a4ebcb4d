// Text clean-up before CLIP tokenisation: an approximation of ftfy.fix_text, HTML unescaping (twice, as
// upstream), whitespace collapsing and lower-casing. Not the tokeniser: see tokenizer.ts.
//
// What is approximated. Upstream runs ftfy.fix_text, which also repairs mojibake (UTF-8 read as Latin-1 or
// cp1252, e.g. 'cafÃ©' → 'café'); that needs ftfy's statistical detector and is NOT done here. What is
// done, following ftfy's default steps: terminal escapes and control characters removed, curly quotes
// straightened, Latin ligatures and full-width characters expanded, NFC normalisation. html.unescape is
// implemented for numeric references and the common named entities (NAMED_ENTITIES below), not for all
// 2,231 HTML5 names.

/** The named entities html.unescape resolves that appear in captions and web text (with a ';'). */
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', ndash: '\u2013', mdash: '\u2014',
  lsquo: '\u2018', rsquo: '\u2019', sbquo: '\u201a', ldquo: '\u201c', rdquo: '\u201d', bdquo: '\u201e',
  hellip: '\u2026', middot: '\u00b7', bull: '\u2022', copy: '\u00a9', reg: '\u00ae', trade: '\u2122',
  deg: '\u00b0', plusmn: '\u00b1', times: '\u00d7', divide: '\u00f7', frac12: '\u00bd', frac14: '\u00bc',
  frac34: '\u00be', cent: '\u00a2', pound: '\u00a3', euro: '\u20ac', yen: '\u00a5', sect: '\u00a7',
  para: '\u00b6', laquo: '\u00ab', raquo: '\u00bb', iexcl: '\u00a1', iquest: '\u00bf', shy: '\u00ad',
  eacute: '\u00e9', egrave: '\u00e8', ecirc: '\u00ea', euml: '\u00eb', aacute: '\u00e1', agrave: '\u00e0',
  acirc: '\u00e2', auml: '\u00e4', aring: '\u00e5', atilde: '\u00e3', ccedil: '\u00e7', iacute: '\u00ed',
  igrave: '\u00ec', icirc: '\u00ee', iuml: '\u00ef', ntilde: '\u00f1', oacute: '\u00f3', ograve: '\u00f2',
  ocirc: '\u00f4', ouml: '\u00f6', otilde: '\u00f5', oslash: '\u00f8', uacute: '\u00fa', ugrave: '\u00f9',
  ucirc: '\u00fb', uuml: '\u00fc', szlig: '\u00df', Eacute: '\u00c9', Aacute: '\u00c1', Ntilde: '\u00d1',
  Ouml: '\u00d6', Uuml: '\u00dc', Auml: '\u00c4',
};

/** The amp/lt/gt/quot forms html.unescape also accepts without a ';' (HTML5's legacy names, in part). */
const LEGACY_NO_SEMICOLON = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp', 'copy', 'reg']);

/** Python's html.unescape replaces these code points in numeric references (HTML5's table, in part). */
function numericEntity(code: number): string {
  if (code === 0 || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '\ufffd';
  // The C1 range is read as Windows-1252, as browsers do; the undefined slots stay as they are.
  if (code >= 0x80 && code <= 0x9f) {
    const cp1252 = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
    return cp1252[code - 0x80]!;
  }
  return String.fromCodePoint(code);
}

const ENTITY_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)/g;

/** One pass of Python's html.unescape for numeric references and NAMED_ENTITIES. @example htmlUnescape('a &amp; b') // 'a & b' */
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY_RE, (whole, body: string) => {
    if (body.startsWith('#')) {
      const hex = body[1] === 'x' || body[1] === 'X';
      const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
      return numericEntity(parseInt(digits, hex ? 16 : 10));
    }
    const semi = body.endsWith(';');
    const name = semi ? body.slice(0, -1) : body;
    const value = Object.hasOwn(NAMED_ENTITIES, name) ? NAMED_ENTITIES[name] : undefined;
    if (value === undefined) return whole;
    if (semi) return value;
    return LEGACY_NO_SEMICOLON.has(name) ? value : whole;
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
