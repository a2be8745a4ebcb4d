// Kiln's public API: everything in public.ts, plus the models built on it. Models, training code, benches
// and tests import only from here (the models themselves from public.ts, which is the same API less them).
// The reference keeps `/// <reference types="@webgpu/types" />` in the published index.d.ts, so consumers
// get GPUDevice & co. without listing @webgpu/types in their tsconfig "types".
/// <reference types="@webgpu/types" preserve="true" />

export * from './public.js';
/** ImageBind and CLIP with upstream state-dict names, typed configs and streamed weights. @example const m = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny')); */
export * as models from './models/index.js';
/**
 * The trainer: a typed config (object, JSON or YAML), schedules, checkpoints with exact resume, and fit().
 * @example const summary = await kiln.train.fit({ model: { kind: 'clip', config: 'tiny' }, steps: 100, out: 'runs/a' });
 */
export * as train from './train/index.js';
