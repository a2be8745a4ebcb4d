// Kiln's Node entry (package.json exports, "node" condition): the public API of index.ts with Dawn as the
// WebGPU implementation. Browsers get index.ts alone, so their bundles never reference Dawn or `node:`.

import { loadDawn } from './device/dawn.js';
import { useDawn } from './device/gpu.js';

useDawn(loadDawn);

export * from './index.js';
