// Kiln's Node entry (package.json exports, "node" condition): the public API of index.ts with Dawn as the
// WebGPU implementation, plus the trainer. Browsers get index.ts alone, so their bundles never reference
// Dawn, the trainer or `node:`.

import { loadDawn } from './device/dawn.js';
import { useDawn } from './device/gpu.js';

useDawn(loadDawn);

export * from './index.js';
/**
 * The trainer (Node only: it reads configs and writes checkpoints): a typed config (object, JSON or YAML),
 * schedules, checkpoints with exact resume, and fit().
 * @example const summary = await kiln.train.fit({ model: { kind: 'clip', config: 'tiny' }, steps: 100, out: 'runs/a' });
 */
export * as train from './train/index.js';
