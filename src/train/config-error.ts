// The trainer's config error: a bad configuration value, named by field. Its own file so that config.ts
// (validation) and config-file.ts (files and --set) both throw it without importing each other.

/** A bad configuration value; the CLI exits with status 2 on it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
