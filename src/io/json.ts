// A strict JSON parser for file headers (safetensors): RFC 8259 syntax, a nesting limit, duplicate keys
// refused, and numbers kept as their source text so "3" and "3.0" stay distinct, as Rust's serde_json sees
// them. Not a general JSON library: it returns plain values for validation, never revives objects.

/** A JSON number as written: `raw` is its exact source text. */
export class JsonNumber {
  constructor(readonly raw: string) {}
  /** Written as a non-negative integer without sign, fraction or exponent (what serde reads into a usize). */
  get isUnsigned(): boolean {
    return /^(0|[1-9][0-9]*)$/.test(this.raw);
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
/** An object's members in source order. */
export type JsonObject = Map<string, JsonValue>;

/** serde_json's default recursion limit. */
export const JSON_MAX_DEPTH = 128;

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Parses `text` as one JSON value. Throws `${what}: …` with the character offset on bad syntax, nesting
 * deeper than `maxDepth`, or a key repeated within one object. Iterative, so no input can overflow the stack.
 */
export function parseJson(text: string, what: string, maxDepth = JSON_MAX_DEPTH): JsonValue {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg} at character ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    let run = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in a string');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(run, i);
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else {
        const r = e !== undefined && Object.hasOwn(ESCAPES, e) ? ESCAPES[e] : undefined;
        if (r === undefined) fail(`bad escape \\${e ?? ''}`);
        out += r!;
        i += 2;
      }
      run = i;
    }
  };
  const num = (): JsonNumber => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('bad number');
    i += m[0].length;
    return new JsonNumber(m[0]);
  };
  const word = (w: string, v: JsonValue): JsonValue => {
    if (!text.startsWith(w, i)) fail('unexpected character');
    i += w.length;
    return v;
  };

  // Containers under construction; a scalar or a finished container is attached to the innermost one.
  type Frame = { arr: JsonValue[]; key?: never } | { obj: JsonObject; key: string | null };
  const stack: Frame[] = [];
  let result: JsonValue | undefined;
  const attach = (v: JsonValue): void => {
    const top = stack[stack.length - 1];
    if (!top) result = v;
    else if ('arr' in top) top.arr.push(v);
    else {
      top.obj.set(top.key!, v);
      top.key = null;
    }
  };
  const open = (f: Frame): void => {
    if (stack.length >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
    stack.push(f);
  };
  /** Reads `"key":` into the object frame, refusing a repeat. */
  const key = (f: { obj: JsonObject; key: string | null }): void => {
    ws();
    if (text[i] !== '"') fail('expected a string key');
    const k = str();
    if (f.obj.has(k)) fail(`key ${JSON.stringify(k)} appears twice in one object`);
    ws();
    if (text[i] !== ':') fail("expected ':'");
    i++;
    f.key = k;
  };

  for (;;) {
    // Parse one value at i.
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const f = { obj: new Map<string, JsonValue>(), key: null as string | null };
      open(f);
      ws();
      if (text[i] === '}') {
        i++;
        stack.pop();
        attach(f.obj);
      } else {
        key(f);
        continue;
      }
    } else if (c === '[') {
      i++;
      const f = { arr: [] as JsonValue[] };
      open(f);
      ws();
      if (text[i] === ']') {
        i++;
        stack.pop();
        attach(f.arr);
      } else continue;
    } else if (c === '"') attach(str());
    else if (c === 't') attach(word('true', true));
    else if (c === 'f') attach(word('false', false));
    else if (c === 'n') attach(word('null', null));
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) attach(num());
    else fail(c === undefined ? 'unexpected end' : 'unexpected character');

    // After a value: a separator for the next one, or closing brackets.
    for (;;) {
      ws();
      const top = stack[stack.length - 1];
      if (!top) {
        if (i !== text.length) fail('trailing characters after the value');
        return result!;
      }
      const sep = text[i];
      if ('arr' in top) {
        if (sep === ',') {
          i++;
          break;
        }
        if (sep !== ']') fail("expected ',' or ']'");
        i++;
        stack.pop();
        attach(top.arr);
      } else {
        if (sep === ',') {
          i++;
          key(top);
          break;
        }
        if (sep !== '}') fail("expected ',' or '}'");
        i++;
        stack.pop();
        attach(top.obj);
      }
    }
  }
}
