// The `kiln` command line without its process wiring (kiln.ts): looks a subcommand up and runs it, so
// tests can call it in-process. Adding a subcommand = one file exporting a Command + one entry below.

import { bpeTrain } from './bpe-train.js';
import { embed } from './embed.js';
import { evalCommand } from './eval.js';
import { env } from './env.js';
import { exportCommand } from './export.js';
import { type Command, type CommandIo, UsageError } from './command.js';
import { profileCommand } from './profile.js';
import { reportCommand } from './report.js';
import { train } from './train.js';
import { version } from '../version.js';

const COMMANDS: readonly Command[] = [bpeTrain, embed, env, evalCommand, exportCommand, train, profileCommand, reportCommand];

const defaultIo: CommandIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return ['usage: kiln <command> [options]', '', 'commands:', ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), '', "run 'kiln <command> --help' for a command's options"].join('\n');
}

/** Runs `kiln <args>`; resolves to the exit status (0 ok, 1 failure, 2 bad usage). @example await runCli(['bpe-train', '--corpus', 'c.txt']) */
export async function runCli(args: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(version);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`kiln: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`kiln ${name}: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    io.err(`kiln ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
