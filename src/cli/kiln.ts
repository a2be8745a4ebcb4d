#!/usr/bin/env node
// The `kiln` executable (package.json "bin"): hands the process's arguments to runCli and sets the exit
// status. Everything else lives in main.ts and one file per subcommand.

import '../node.js';
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));
