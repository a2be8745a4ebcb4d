// Every test file runs against one live device with NaN-poisoned allocations, so an element that no
// kernel writes fails the comparison.
import * as kiln from '../src/node.js';
import { beforeAll } from 'vitest';
import { installMatchers } from './helpers/matchers.js';

installMatchers();
// Tests use each kernel's default configuration, never choices tuned earlier on this machine.
process.env['KILN_TUNE'] ??= 'off';
beforeAll(async () => {
  await kiln.init();
  kiln.setPoison(true);
  // Out-of-range indices throw at the next readback instead of being clamped silently.
  kiln.setDebug(true);
});
