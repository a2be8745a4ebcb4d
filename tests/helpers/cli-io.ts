// A CommandIo that collects what a `kiln` subcommand prints, for the CLI tests.
export interface CapturedIo {
  readonly io: { out: (l: string) => void; err: (l: string) => void };
  readonly out: string[];
  readonly err: string[];
}

export function captureIo(): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => void out.push(l), err: (l) => void err.push(l) }, out, err };
}
