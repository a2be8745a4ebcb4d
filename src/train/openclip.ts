// Kiln checkpoints ↔ PyTorch: a CLIP run exported as OpenCLIP v3.3's training checkpoint (`epoch`, `name`,
// `state_dict`, `optimizer` in torch.optim.AdamW's layout over v3.3's two parameter groups) so torchrun
// DDP continues it, an ImageBind run as the state dict imagebind_model.py loads, and a Kiln run resumed
// from an OpenCLIP `epoch_N.pt`. Not OpenCLIP main's FSDP/DCP checkpoints.

import { type Tensor, io, optim } from '../public.js';
import * as models from '../models/index.js';
import { readCheckpoint } from './checkpoint.js';
import type { BatchLoader } from './dataset.js';
import { excludedFromDecay } from './params.js';

const OP = 'exportPytorch';
const { PthFloat, PthOrderedDict, PthTuple, PyDict, TensorRef } = io;
type PthValue = io.PthValue;
type PickleValue = io.PickleValue;

export interface ExportPytorchOptions {
  /** Prefix the state dict's names with `module.`, as OpenCLIP saves from a DDP-wrapped model (default false). */
  readonly ddp?: boolean;
  /** The checkpoint's `name` (OpenCLIP's --name; default the checkpoint directory). */
  readonly name?: string;
}

export interface ExportPytorchResult {
  /** What the file cannot express, one sentence each (per-tower learning rates, a mid-epoch position, …). */
  readonly warnings: readonly string[];
  readonly kind: 'openclip' | 'imagebind-state-dict';
}

/** Parameter names in OpenCLIP v3.3's optimizer order: `gain_or_bias_params` (no decay), then `rest_params`. */
export function openClipV33Order(named: readonly (readonly [string, readonly number[]])[]): { noDecay: string[]; decay: string[] } {
  const noDecay: string[] = [];
  const decay: string[] = [];
  for (const [n, shape] of named) (excludedFromDecay('openclip', n, shape.length) ? noDecay : decay).push(n);
  return { noDecay, decay };
}

/** The model's parameter names and shapes in registration order (torch's named_parameters order). */
function namedShapes(arch: models.ModelConfig): [string, readonly number[]][] {
  const m = arch.family === 'clip' ? new models.ClipModel(arch, { device: 'meta' }) : new models.ImageBindModel(arch, { device: 'meta' });
  try {
    return [...m.namedParameters()].map(([n, t]) => [n, t.shape]);
  } finally {
    m.dispose();
  }
}

/**
 * Writes a Kiln checkpoint directory as a PyTorch file `torch.load(f, weights_only=True)` reads: for CLIP,
 * OpenCLIP v3.3's training checkpoint (`--resume` it under torchrun; `ddp` for a DDP run); for ImageBind,
 * the model's state dict. Returns what the file cannot express.
 * @example const { warnings } = await kiln.train.exportPytorch('run/checkpoints/step-1000', 'epoch_2.pt', { ddp: true });
 */
export async function exportPytorch(checkpointDir: string, file: string, opts: ExportPytorchOptions = {}): Promise<ExportPytorchResult> {
  const ck = await readCheckpoint(checkpointDir);
  const all = Object.values(ck.tensors).flatMap((m) => [...m.values()]);
  try {
    const arch = ck.state.architecture as models.ModelConfig;
    if (typeof arch !== 'object' || (arch.family !== 'clip' && arch.family !== 'imagebind')) throw new Error(`${OP}: ${checkpointDir} holds neither CLIP nor ImageBind`);
    const model = ck.tensors['model.safetensors'];
    const named = namedShapes(arch);
    const order = [...named.map(([n]) => n), ...[...model.keys()].filter((k) => !named.some(([n]) => n === k))];
    const sd = new PthOrderedDict(new Map(order.flatMap((k) => (model.has(k) ? [[`${opts.ddp ? 'module.' : ''}${k}`, model.get(k)!] as [string, PthValue]] : []))));
    if (arch.family === 'imagebind') {
      if (opts.ddp) throw new Error(`${OP}: --ddp applies to OpenCLIP training checkpoints; ImageBind exports a bare state dict`);
      await io.savePth(file, sd);
      return { kind: 'imagebind-state-dict', warnings: ['ImageBind has no training code upstream: the file holds the model state dict only (no optimizer state or epoch)'] };
    }
    const warnings: string[] = [];
    const s = ck.state;
    const kilnNames = s.optimizer.names;
    const groupOf = new Map<string, (typeof s.optimizer.param_groups)[number]>();
    for (const g of s.optimizer.param_groups) for (const i of g.params) groupOf.set(kilnNames[i]!, g);
    const v33 = openClipV33Order(named.filter(([n]) => groupOf.has(n)));
    const torchOrder = [...v33.noDecay, ...v33.decay];
    const opt = ck.tensors['optimizer.safetensors'];
    const state = new Map<number, PthValue>();
    torchOrder.forEach((n, j) => {
      const i = kilnNames.indexOf(n);
      const step = opt.get(`state.${i}.step`);
      if (step) state.set(j, { step, exp_avg: opt.get(`state.${i}.exp_avg`)!, exp_avg_sq: opt.get(`state.${i}.exp_avg_sq`)! });
    });
    const group = (names: readonly string[], decay: boolean, start: number): PthValue => {
      const gs = [...new Set(names.map((n) => groupOf.get(n)!))];
      const lrs = [...new Set(gs.map((g) => Number(g.lr)))];
      if (lrs.length > 1) warnings.push(`per-group learning rates cannot be expressed (OpenCLIP v3.3 has one --lr): the ${decay ? 'decayed' : 'no-decay'} group gets ${lrs[0]}, Kiln used ${lrs.join(', ')}`);
      const wds = [...new Set(names.map((n) => groupOf.get(n)!.weight_decay))];
      if (!decay && wds.some((w) => w !== 0)) warnings.push(`OpenCLIP v3.3 does not decay ${names.filter((n) => groupOf.get(n)!.weight_decay !== 0).join(', ')}, which Kiln decayed`);
      if (decay && wds.includes(0)) warnings.push(`OpenCLIP v3.3 decays ${names.filter((n) => groupOf.get(n)!.weight_decay === 0).join(', ')}, which Kiln did not`);
      const g = gs[0]!;
      return {
        lr: new PthFloat(lrs[0]!),
        betas: new PthTuple([new PthFloat(g.betas[0]), new PthFloat(g.betas[1])]),
        eps: new PthFloat(g.eps),
        weight_decay: new PthFloat(decay ? Math.max(...wds) : 0),
        amsgrad: false,
        foreach: null,
        maximize: false,
        capturable: false,
        differentiable: false,
        fused: null,
        params: names.map((_, k) => start + k),
      };
    };
    const param_groups = [group(v33.noDecay, false, 0), group(v33.decay, true, v33.noDecay.length)];
    const extra = [...ck.tensors['trainer.safetensors'].keys()].filter((k) => k !== 'ring');
    if (extra.length) warnings.push(`trainer tensors OpenCLIP's CLIP has no place for are left out: ${extra.join(', ')}`);
    if (s.data.batch > 0)
      warnings.push(`a mid-epoch position cannot be expressed: Kiln stopped at batch ${s.data.batch} of epoch ${s.data.epoch}; OpenCLIP resumes at the start of epoch ${s.data.epoch} and sees those ${s.data.batch} batches again`);
    const name = opts.name ?? checkpointDir.replace(/\/+$/, '').split('/').slice(-3, -2)[0] ?? 'kiln';
    await io.savePth(file, { epoch: s.data.epoch, name, state_dict: sd, optimizer: { state, param_groups } });
    return { kind: 'openclip', warnings };
  } finally {
    for (const t of all) t.dispose();
  }
}

// ---- resuming from OpenCLIP ---------------------------------------------------------------------------------

function dictGet(d: PickleValue, key: string, where: string): PickleValue {
  if (!(d instanceof PyDict) || !d.map.has(key)) throw new Error(`${where}: no '${key}' (keys: ${d instanceof PyDict ? [...d.map.keys()].map(String).join(', ') : 'not a dict'})`);
  return d.map.get(key)!;
}

/**
 * Puts an OpenCLIP training checkpoint (`epoch_N.pt`: weights, AdamW state over v3.3's two groups, epoch)
 * into a freshly built Kiln CLIP run: the weights (a `module.` prefix is dropped), each parameter's AdamW
 * state by name, and the data position at the start of epoch N. Returns the step to continue from.
 */
export async function resumeFromOpenClip(
  file: string,
  t: { readonly module: { loadStateDict(sd: ReadonlyMap<string, Tensor>): unknown; namedParameters(): Iterable<[string, Tensor]> }; readonly optimizer: optim.AdamW; readonly names: readonly string[]; readonly loader: BatchLoader },
): Promise<{ step: number }> {
  const where = `resume ${file}`;
  const tree = await io.loadPthTree(file);
  try {
    const epoch = dictGet(tree.root, 'epoch', where);
    if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0) throw new Error(`${where}: 'epoch' is ${typeof epoch === 'number' ? epoch : typeof epoch}, not a count of epochs`);
    const sdv = dictGet(tree.root, 'state_dict', where);
    if (!(sdv instanceof PyDict)) throw new Error(`${where}: 'state_dict' is not a dict`);
    const sd = new Map<string, Tensor>();
    for (const [k, v] of sdv.map) if (typeof k === 'string' && v instanceof TensorRef) sd.set(k.startsWith('module.') ? k.slice(7) : k, tree.tensors.get(v)!);
    t.module.loadStateDict(sd);
    // torch's indices follow v3.3's grouping of the model's parameters; Kiln's follow its own groups.
    const named = [...t.module.namedParameters()].filter(([n]) => t.names.includes(n));
    const v33 = openClipV33Order(named.map(([n, p]) => [n, p.shape]));
    const torchOrder = [...v33.noDecay, ...v33.decay];
    const groups = dictGet(dictGet(tree.root, 'optimizer', where), 'param_groups', where);
    const sizes = Array.isArray(groups) ? groups.map((g) => dictGet(g, 'params', `${where}: optimizer.param_groups`)).map((p) => (Array.isArray(p) ? p.length : -1)) : [];
    if (sizes.length !== 2 || sizes[0] !== v33.noDecay.length || sizes[1] !== v33.decay.length)
      throw new Error(`${where}: its optimizer has groups of [${sizes.join(', ')}] parameters; OpenCLIP v3.3's two groups of this model have [${v33.noDecay.length}, ${v33.decay.length}]`);
    const saved = dictGet(dictGet(tree.root, 'optimizer', where), 'state', where);
    const state = new Map<number, optim.AdamWTorchState>();
    t.names.forEach((n, i) => {
      const j = torchOrder.indexOf(n);
      const st = saved instanceof PyDict ? saved.map.get(j) : undefined;
      if (st === undefined) return;
      const get = (k: string): Tensor => {
        const r = dictGet(st, k, `${where}: optimizer.state[${j}] (${n})`);
        if (!(r instanceof TensorRef)) throw new Error(`${where}: optimizer.state[${j}].${k} is not a tensor`);
        return tree.tensors.get(r)!;
      };
      state.set(i, { step: get('step'), exp_avg: get('exp_avg'), exp_avg_sq: get('exp_avg_sq') });
    });
    t.optimizer.loadStateDict({ state, param_groups: t.optimizer.stateDict().param_groups });
    t.loader.restore({ epoch, batch: 0 });
    return { step: epoch * t.loader.stepsPerEpoch };
  } finally {
    for (const x of tree.tensors.values()) x.dispose();
  }
}
