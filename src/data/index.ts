// Input pipelines: decoding files into the tensors the models take (kiln.data). Not a dataset loader.

export { decodeWav, type DecodedWav, type DecodeWavOptions } from './wav.js';
export { resample, type ResampleOptions } from './resample.js';
export { fbank } from './fbank.js';
export { loadAudio, type LoadAudioOptions } from './audio.js';
