// kiln.optim: optimizers with parameter groups, their torch-layout state dicts and the GPU skip flag.
export { Optimizer, type ParamGroup, type ParamsArg, type OptimizerStateDict, type LoadableStateDict } from './optimizer.js';
export { SGD, type SGDOptions, type SGDState, type SGDTorchState, type SGDParamGroupState } from './sgd.js';
export { AdamW, type AdamWOptions, type AdamWState, type AdamWTorchState, type AdamWParamGroupState } from './adamw.js';
export { nonFiniteCheckAndUnscale_ } from './non-finite.js';
