// The installed version of a peer package (read from bench/peers/node_modules, whatever its "exports").

import { readFileSync } from 'node:fs';

export const pkgVersion = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
