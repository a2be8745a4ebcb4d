// Command-line parsing shared by the `kiln` subcommands: node:util's parseArgs with its errors turned into
// usage errors (exit status 2), and integer options checked by name.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './command.js';

/** Parses `args` against `options` (no positionals unless allowed); a bad flag is a UsageError. */
export function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: O, allowPositionals = false): ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: boolean }>> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** The integer option `--name` (`fallback` when absent): at least `min`, else a UsageError naming it. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} must be ${min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`}, got '${value}'`);
  return n;
}
