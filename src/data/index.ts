// Input pipelines: decoding files into the tensors the models take (kiln.data). Not a dataset loader.

export { decodeWav, type DecodedWav, type DecodeWavOptions } from './wav.js';
export { resample, resampleRange, type ResampleOptions } from './resample.js';
export { fbank } from './fbank.js';
export { loadAudio, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, type LoadAudioOptions } from './audio.js';
export { decodeImage, MAX_IMAGE_PIXELS, type DecodedImage, type DecodeOptions } from './decode.js';
export { loadImage, loadDepth, loadThermal, CLIP_MEAN, CLIP_STD, type ImageInput, type ImageOptions, type DepthMap, type DepthOptions } from './image.js';
export { resizedCrop, type CropBox } from './image.js';
export { videoClips, type VideoClipOptions } from './video.js';
export { loadImu, type ImuOptions } from './imu.js';
export { toChannels as imuChannels } from './imu.js';
export { readNpy, type NpyArray } from './npy.js';
export {
  decodeJob,
  decodeKind,
  colorJitter,
  estimateSnrDb,
  transferables,
  type DecodeJob,
  type DecodeFile,
  type DecodeResult,
  type DecodedFile,
  type DecodeKind,
  type JitterParams,
} from './workers/decode-core.js';
export { inlineDecoder, workerPool, webDecodePool, type Decoder, type WorkerLike } from './workers/pool.js';
export {
  synthetic,
  SyntheticDataset,
  type SyntheticOptions,
  ATTRIBUTES,
  CARRIES,
  SYNTHETIC_MODALITIES,
  CAPTION_TEMPLATES,
  sharedAttributes,
  classOf,
  classCount,
  classWords,
  fillTemplate,
  type Attribute,
  type Scene,
  type SyntheticModality,
} from './synthetic/index.js';
