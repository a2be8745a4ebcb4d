// Config text and overrides: JSON/YAML files read as plain data (YAML tags that would build code are refused),
// `--set key=value` overrides by dotted path, and the deep merge both use. Validation is in config.ts.

import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';

type Obj = Record<string, unknown>;
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Deep merge: objects merge key by key; arrays, scalars and null replace. */
export function mergeOver(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(base) || !isObj(over)) return over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeOver(base[k], v);
  return out;
}

/** Parses a `--set` value as a YAML scalar or flow collection ('1e-3' → 0.001, 'clip' → 'clip', '[0.9, 0.98]'). */
function parseValue(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

/** YAML to plain data; errors and warnings (an unknown tag such as !!js/function) both throw. */
function parseYaml(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, logLevel: 'silent' });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw problem;
  return doc.toJS() as unknown;
}

/** Applies `key=value` overrides (dotted paths, `pairs.0.weight` indexes lists) to a raw config object. */
export function applySets(raw: unknown, sets: readonly string[]): unknown {
  let out = mergeOver({}, raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set: expected key=value, got ${show(s)}`);
    const path = s.slice(0, eq).split('.');
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) throw new ConfigError(`--set: bad key ${show(s.slice(0, eq))}`);
    let patch: unknown = parseValue(s.slice(eq + 1));
    for (let i = path.length - 1; i >= 0; i--) patch = { [path[i]!]: patch };
    out = mergeOver(out, patch);
  }
  return out;
}

/** Parses JSON or YAML text (YAML is a superset of JSON); the file name only labels errors. */
export function parseConfigText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML/JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads a config file (.json, .yaml, .yml). */
export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseConfigText(text, file);
}
