// kiln.io: reading checkpoints into GPU tensors. PyTorch .pth/.pt (zip) state dicts live in pth.ts; the
// safetensors reader (safetensors.ts, by its own engineer) appends its exports below this file's.

export { loadPth, loadPthTree, iteratePth, listPth, type PthTree, type PthSource, type LoadPthOptions, type PthTensorInfo } from './pth.js';
export { loadSafetensors, iterateSafetensors, listSafetensors, saveSafetensors, parseHeader as parseSafetensorsHeader, type SafetensorsSource, type SafetensorsDType, type SafetensorsTensorInfo, type SafetensorsHeader, type LoadSafetensorsOptions } from './safetensors.js';
export { savePth, encodePth, PthTuple, PthOrderedDict, PthFloat, type PthValue, type SavePthOptions } from './pth-write.js';
export { PyDict, PyTuple, TensorRef, type PickleValue } from './pickle.js';
