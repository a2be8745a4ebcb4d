// kiln.nn: modules, layers, initialisers and the functional API.
export {
  Module,
  childOptions,
  type StateDict,
  type LoadResult,
  type LoadStateDictOptions,
  type FactoryOptions,
  type LayerOptions,
  type Initializer,
  type InitOverrides,
  type ForwardHook,
  type ForwardPreHook,
  type RemovableHandle,
  type Callable,
} from './module.js';
export { Linear, linearThen, LayerNorm, Embedding, Dropout, DropPath, GELU, QuickGELU, Identity, Sequential, ModuleList, ModuleDict, type UnaryModule } from './layers.js';
export { Conv2d, Conv3d } from './conv.js';
export { MultiheadAttention, InProjection, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions, type MultiheadAttentionOutput } from './attention.js';
export * as init from './init.js';
export * as functional from './functional.js';
export * as utils from './utils.js';
