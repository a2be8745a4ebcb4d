// WebGPU flag values from the specification. The GPUBufferUsage/GPUShaderStage/GPUMapMode globals exist
// only once a WebGPU implementation is loaded, which in Node happens inside init(), after module load.

export const Usage = { MAP_READ: 0x0001, MAP_WRITE: 0x0002, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080, QUERY_RESOLVE: 0x0200 } as const;
export const COMPUTE_STAGE = 0x4;
export const MAP_READ_MODE = 0x0001;
