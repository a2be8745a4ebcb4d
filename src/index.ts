// Kiln's public API and browser entry: everything in public.ts, plus the models built on it (the models
// themselves import public.ts, the same API less them). The trainer, which reads and writes files, is in
// the Node entry (node.ts) only, so no `node:` import reaches a browser bundle.
// The reference keeps `/// <reference types="@webgpu/types" />` in the published index.d.ts, so consumers
// get GPUDevice & co. without listing @webgpu/types in their tsconfig "types".
/// <reference types="@webgpu/types" preserve="true" />

export * from './public.js';
/** ImageBind and CLIP with upstream state-dict names, typed configs and streamed weights. @example const m = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny')); */
export * as models from './models/index.js';
/** Dynamic int8 quantisation for inference (torch.quantization.quantize_dynamic). @example kiln.quantize.dynamic(model, { layers: [kiln.nn.Linear] }) */
export * as quantize from './quantize/index.js';
