import { defineConfig } from 'vitest/config';

// One process, one WebGPU device for the whole suite: the software adapter compiles each pipeline once
// (up to ~1 s), so files share the device and its pipeline cache instead of each starting their own.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    isolate: false,
    fileParallelism: false,
    setupFiles: ['tests/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
