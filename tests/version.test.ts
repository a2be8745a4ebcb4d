// kiln.version is package.json's version (src/version.ts is generated from it by scripts/write-version.mjs).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kiln from '../src/node.js';

describe('kiln.version', () => {
  it("equals package.json's version", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; name: string; license: string };
    expect(kiln.version).toBe(pkg.version);
    expect(pkg.name).toBe('kiln-gpu');
    expect(readFileSync(new URL('../LICENSE', import.meta.url), 'utf8')).toMatch(new RegExp(`^${pkg.license} License`));
  });
});
