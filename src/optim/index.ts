// kiln.optim: optimizers with parameter groups.
export { Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
