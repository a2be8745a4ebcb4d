// kiln.models: ImageBind and CLIP with upstream state-dict names, their typed configs, and weight streaming.
export { ImageBindModel, MODALITIES, type Modality, type ImageBindInputs } from './imagebind.js';
export { ClipModel, type ClipOutput } from './clip.js';
export {
  type ImageBindConfig,
  type ClipConfig,
  type ModelConfig,
  type TrunkConfig,
  type ClipTowerConfig,
  type LayerScaleConfig,
  type ImageBindSize,
  type ClipSize,
  imageBindConfig,
  clipConfig,
  mergeConfig,
  loadImageBindConfig,
  loadClipConfig,
  IMAGEBIND_SIZES,
  CLIP_SIZES,
} from './config.js';
export { type BuildOptions, type ParamDType } from './build.js';
export { loadWeights, type WeightSource, type LoadWeightsOptions, type LoadWeightsResult } from './weights.js';
export { clipConfigFromHf, clipConfigToHf, hfToOpenClip, openClipToHf, loadHfClip, saveHfClip } from './hf-clip.js';
