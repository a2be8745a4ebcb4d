// `kiln export`: a Kiln checkpoint directory as a PyTorch file (OpenCLIP v3.3's training checkpoint for
// CLIP, the state dict for ImageBind) or, for CLIP, as a Hugging Face CLIPModel directory. Warnings about
// what the target cannot express go to stderr; exit status 0 when written.

import { parseArgs } from 'node:util';
import * as models from '../models/index.js';
import { exportPytorch, readCheckpoint } from '../train/index.js';
import { type Command, UsageError } from './command.js';

const usage = `usage: kiln export --format pytorch [--ddp] [--name <name>] <checkpoint> <file.pt>
       kiln export --format hf <checkpoint> <dir>

Writes a Kiln checkpoint directory (<out>/checkpoints/step-<N>) for another engine.

  --format pytorch   CLIP: OpenCLIP v3.3's training checkpoint (epoch, name, state_dict, optimizer in
                     torch.optim.AdamW's layout), for 'python -m open_clip_train.main --resume <file.pt>';
                     ImageBind: the state dict imagebind_model.py loads. torch.load(f, weights_only=True) reads it.
  --format hf        CLIP only: config.json + model.safetensors for CLIPModel.from_pretrained(<dir>)
  --ddp              prefix the state dict with 'module.' (resuming a DDP run under torchrun)
  --name <name>      the checkpoint's 'name' (default: the run's directory name)`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a checkpoint as a PyTorch/OpenCLIP file or a Hugging Face CLIP directory',
  usage,
  async run(args, out) {
    let parsed: { values: { format?: string; ddp?: boolean; name?: string }; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...args], options: { format: { type: 'string' }, ddp: { type: 'boolean' }, name: { type: 'string' } }, strict: true, allowPositionals: true });
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 2) throw new UsageError(`expected <checkpoint> and <target>, got ${positionals.length} arguments`);
    const [ckpt, target] = positionals as [string, string];
    if (values.format === 'pytorch') {
      const r = await exportPytorch(ckpt, target, { ddp: values.ddp ?? false, ...(values.name !== undefined ? { name: values.name } : {}) });
      for (const w of r.warnings) out.err(`kiln export: warning: ${w}`);
      out.out(`kiln export: ${r.kind === 'openclip' ? 'OpenCLIP training checkpoint' : 'ImageBind state dict'} → ${target}`);
      return 0;
    }
    if (values.format === 'hf') {
      if (values.ddp || values.name !== undefined) throw new UsageError('--ddp and --name apply to --format pytorch');
      const ck = await readCheckpoint(ckpt);
      const all = Object.values(ck.tensors).flatMap((m) => [...m.values()]);
      try {
        const arch = ck.state.architecture as models.ModelConfig;
        if (arch.family !== 'clip') throw new Error(`--format hf: ${ckpt} holds ${arch.family}, and only CLIP has a Hugging Face CLIPModel layout`);
        const model = new models.ClipModel(arch, { device: 'meta' });
        model.loadStateDict(ck.tensors['model.safetensors'], { assign: true, strict: false });
        ck.tensors['model.safetensors'].clear(); // the model owns them now
        await models.saveHfClip(model, target);
        model.dispose();
      } finally {
        for (const t of all) if (!t.isDisposed) t.dispose();
      }
      out.out(`kiln export: Hugging Face CLIPModel → ${target}`);
      return 0;
    }
    throw new UsageError(`--format must be 'pytorch' or 'hf', got ${JSON.stringify(values.format ?? null)}`);
  },
};
