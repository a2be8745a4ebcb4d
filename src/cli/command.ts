// The shape of a `kiln` subcommand. Each subcommand is one file exporting a Command; main.ts lists them.

export interface CommandIo {
  /** Normal output (results, progress). */
  readonly out: (line: string) => void;
  /** Errors and warnings. */
  readonly err: (line: string) => void;
}

export interface Command {
  /** What follows `kiln` on the command line, e.g. 'bpe-train'. */
  readonly name: string;
  /** One line for `kiln --help`. */
  readonly summary: string;
  /** The full usage text for `kiln <name> --help`. */
  readonly usage: string;
  /** Runs with the arguments after the name; resolves to the exit status. */
  run(args: readonly string[], io: CommandIo): Promise<number>;
}

/** Thrown for bad command-line arguments: printed with the usage, exit status 2. */
export class UsageError extends Error {}

/** An integer flag's value (≥ min), or the fallback when absent; anything else is a usage error. */
export function positiveInt(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be ${min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`}, got '${value}'`);
  return n;
}
