// What Kiln asks of the JavaScript host outside WebGPU: whether it is Node, environment variables, and
// Node's built-in modules loaded by a computed name, so that browser bundlers never see a `node:` import.

/** True in Node (and runtimes that present themselves as Node). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** An environment variable; undefined outside Node. */
export function env(name: string): string | undefined {
  return typeof process === 'undefined' ? undefined : process.env?.[name];
}

/**
 * Imports a Node built-in (`'node:fs/promises'`, …). The specifier is a parameter, not a literal, so
 * bundlers (Vite, esbuild, webpack) neither try to resolve it nor warn; only Node paths call this.
 */
export async function nodeImport<T>(name: `node:${string}`): Promise<T> {
  return (await import(/* @vite-ignore */ name)) as T;
}
