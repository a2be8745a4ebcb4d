// Kiln checkpoints ↔ OpenCLIP/PyTorch: a tiny CLIP run exported as OpenCLIP v3.3's training checkpoint
// (names, DDP prefix, v3.3's two groups, AdamW state by name, warnings), resumed back into a Kiln run, and the
// committed fixture that tests/fixtures/gen_export.py loaded with torch.load(weights_only=True) and stepped
// once with torch.optim.AdamW: Kiln still writes those exact bytes, and Kiln's own AdamW step from the
// file matches PyTorch's. KILN_WRITE_FIXTURES=1 rewrites tests/fixtures/export/ (then rerun the generator).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/node.js';
import { PyDict, PyTuple, TensorRef } from '../../src/io/pickle.js';
import { runCli } from '../../src/cli/main.js';

const FIX = new URL('../fixtures/export/', import.meta.url).pathname;
const WRITE = process.env['KILN_WRITE_FIXTURES'] === '1';

// 3 steps of 2 per epoch: the run stops mid-epoch; the text tower trains at its own lr.
const cfg = (out: string): kiln.train.TrainConfigInput => ({
  model: { kind: 'clip', config: 'tiny' },
  data: { size: 8, classes: 2 },
  batchSize: 4,
  steps: 3,
  logEvery: 1,
  checkpointEvery: 100,
  optimizer: { lr: 1e-3, groups: [{ name: 'text', match: ['transformer.*', 'token_embedding.*'], lr: 5e-4 }] },
  schedule: { kind: 'constant', warmup: 0 },
  out,
});

const d = (v: kiln.io.PickleValue, k: string): kiln.io.PickleValue => (v as PyDict).map.get(k)!;

async function sourceCheckpoint(): Promise<string> {
  if (!WRITE && existsSync(join(FIX, 'run/checkpoints/step-3/state.json'))) return join(FIX, 'run/checkpoints/step-3');
  const out = mkdtempSync(join(tmpdir(), 'kiln-oc-'));
  const s = await kiln.train.fit(cfg(join(out, 'run')));
  if (WRITE) {
    rmSync(join(FIX, 'run'), { recursive: true, force: true });
    cpSync(join(out, 'run/checkpoints'), join(FIX, 'run/checkpoints'), { recursive: true });
    return join(FIX, 'run/checkpoints/step-3');
  }
  return s.checkpoint;
}

describe('OpenCLIP export', () => {
  it("writes v3.3's training checkpoint: names, DDP prefix, two groups, AdamW state by name, warnings", async () => {
    const ck = await sourceCheckpoint();
    const file = join(mkdtempSync(join(tmpdir(), 'kiln-oc-')), 'epoch_1.pt');
    const r = await kiln.train.exportPytorch(ck, file, { ddp: true, name: 'tiny-run' });
    expect(r.kind).toBe('openclip');
    expect(r.warnings.join('\n')).toMatch(/per-group learning rates cannot be expressed/);
    expect(r.warnings.join('\n')).toMatch(/mid-epoch position cannot be expressed: Kiln stopped at batch 1 of epoch 1/);
    if (WRITE) cpSync(file, join(FIX, 'clip_tiny_epoch_1.pt'));
    // Kiln writes the very bytes the generator checked with torch.load(weights_only=True).
    expect(Buffer.compare(readFileSync(file), readFileSync(join(FIX, 'clip_tiny_epoch_1.pt')))).toBe(0);

    const kilnCk = await kiln.train.readCheckpoint(ck);
    const tree = await kiln.io.loadPthTree(file);
    expect(d(tree.root, 'epoch')).toBe(1);
    expect(d(tree.root, 'name')).toBe('tiny-run');
    const sd = d(tree.root, 'state_dict') as PyDict;
    const model = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'), { device: 'meta' });
    const names = [...model.namedParameters()].map(([n]) => n);
    expect([...sd.map.keys()]).toEqual(names.map((n) => `module.${n}`));
    for (const n of names) expect(Array.from(await tree.tensors.get(sd.map.get(`module.${n}`) as TensorRef)!.data()), n).toEqual(Array.from(await kilnCk.tensors['model.safetensors'].get(n)!.data()));
    const groups = d(d(tree.root, 'optimizer'), 'param_groups') as PyDict[];
    const v33 = kiln.train.openClipV33Order([...model.namedParameters()].map(([n, t]) => [n, t.shape]));
    expect(v33.noDecay).toContain('logit_scale');
    expect(v33.noDecay).toContain('visual.ln_pre.weight');
    expect(v33.decay).toContain('visual.positional_embedding');
    expect(groups.map((g) => (g.map.get('params') as number[]).length)).toEqual([v33.noDecay.length, v33.decay.length]);
    expect(groups.map((g) => g.map.get('weight_decay'))).toEqual([0, 0.2]);
    expect((groups[0]!.map.get('betas') as PyTuple).items).toEqual([0.9, 0.98]);
    const state = d(d(tree.root, 'optimizer'), 'state') as PyDict;
    const kNames = kilnCk.state.optimizer.names;
    for (const [j, n] of [...v33.noDecay, ...v33.decay].entries()) {
      const st = state.map.get(j) as PyDict;
      const i = kNames.indexOf(n);
      for (const k of ['step', 'exp_avg', 'exp_avg_sq'])
        expect(Array.from(await tree.tensors.get(st.map.get(k) as TensorRef)!.data()), `${n}.${k}`).toEqual(Array.from(await kilnCk.tensors['optimizer.safetensors'].get(`state.${i}.${k}`)!.data()));
    }
    expect((tree.tensors.get((state.map.get(0) as PyDict).map.get('step') as TensorRef)!).shape).toEqual([]);
    for (const t of [...tree.tensors.values(), ...Object.values(kilnCk.tensors).flatMap((m) => [...m.values()])]) t.dispose();
    model.dispose();
  });

  it('resumes a Kiln run from the OpenCLIP file: same weights and AdamW state by name, at the start of its epoch', async () => {
    const src = await kiln.train.readCheckpoint(await sourceCheckpoint());
    const out = mkdtempSync(join(tmpdir(), 'kiln-oc-'));
    // epoch 1 × 2 steps per epoch = step 2: nothing left to run, so the checkpoint written is what was loaded.
    const s = await kiln.train.fit({ ...cfg(join(out, 'resumed')), steps: 2 }, { resume: join(FIX, 'clip_tiny_epoch_1.pt') });
    expect(s.resumedFrom).toMatch(/clip_tiny_epoch_1\.pt$/);
    const got = await kiln.train.readCheckpoint(s.checkpoint);
    expect(got.state.step).toBe(2);
    expect(got.state.data).toEqual({ epoch: 1, batch: 0 });
    for (const [n, t] of src.tensors['model.safetensors']) expect(Array.from(await got.tensors['model.safetensors'].get(n)!.data()), n).toEqual(Array.from(await t.data()));
    const names = src.state.optimizer.names;
    expect(got.state.optimizer.names).toEqual(names);
    for (const [k, t] of src.tensors['optimizer.safetensors']) expect(Array.from(await got.tensors['optimizer.safetensors'].get(k)!.data()), k).toEqual(Array.from(await t.data()));
    for (const t of [...Object.values(src.tensors), ...Object.values(got.tensors)].flatMap((m) => [...m.values()])) t.dispose();
  });

  it("resumes from torch.save's own epoch_2.pt (after PyTorch's step): its weights and step counts", async () => {
    const ref = await kiln.io.loadSafetensors(join(FIX, 'torch_step.safetensors'));
    const out = mkdtempSync(join(tmpdir(), 'kiln-oc-'));
    const s = await kiln.train.fit({ ...cfg(join(out, 'resumed')), steps: 4 }, { resume: join(FIX, 'torch_epoch_2.pt') });
    const got = await kiln.train.readCheckpoint(s.checkpoint);
    expect(got.state.data).toEqual({ epoch: 2, batch: 0 });
    for (const [n, t] of got.tensors['model.safetensors']) expect(Array.from(await t.data()), n).toEqual(Array.from(await ref.get(`param.${n}`)!.data()));
    for (const [k, t] of got.tensors['optimizer.safetensors']) if (k.endsWith('.step')) expect(Array.from(await t.data()), k).toEqual([4]);
    for (const t of [...ref.values(), ...Object.values(got.tensors).flatMap((m) => [...m.values()])]) t.dispose();
    await expect(kiln.train.fit({ ...cfg(join(out, 'bad')), steps: 4 }, { resume: join(FIX, 'views.pt') })).rejects.toThrow(/views\.pt: no 'epoch' \(keys: w, wt/);
  });

  it("continues one AdamW step as torch.optim.AdamW did from the same file (gen_export.py's record)", async () => {
    const ref = await kiln.io.loadSafetensors(join(FIX, 'torch_step.safetensors'));
    const tree = await kiln.io.loadPthTree(join(FIX, 'clip_tiny_epoch_1.pt'));
    const opt = d(tree.root, 'optimizer');
    const groups = d(opt, 'param_groups') as PyDict[];
    const state = d(opt, 'state') as PyDict;
    const sd = d(tree.root, 'state_dict') as PyDict;
    const model = new kiln.models.ClipModel(await kiln.models.loadClipConfig('tiny'), { device: 'meta' });
    const order = kiln.train.openClipV33Order([...model.namedParameters()].map(([n, t]) => [n, t.shape]));
    const torchOrder = [...order.noDecay, ...order.decay];
    const params = torchOrder.map((n) => tree.tensors.get(sd.map.get(`module.${n}`) as TensorRef)!.clone().requiresGrad_(true));
    const num = (g: PyDict, k: string): number => g.map.get(k) as number;
    const adamw = new kiln.optim.AdamW(
      groups.map((g) => ({ params: (g.map.get('params') as number[]).map((j) => params[j]!), lr: num(g, 'lr'), weightDecay: num(g, 'weight_decay') })),
      { betas: (groups[0]!.map.get('betas') as PyTuple).items as [number, number], eps: num(groups[0]!, 'eps') },
    );
    const st = new Map<number, kiln.optim.AdamWTorchState>();
    for (const [j, v] of state.map) {
      const g = (k: string): kiln.Tensor => tree.tensors.get((v as PyDict).map.get(k) as TensorRef)!;
      st.set(j as number, { step: g('step'), exp_avg: g('exp_avg'), exp_avg_sq: g('exp_avg_sq') });
    }
    adamw.loadStateDict({ state: st, param_groups: adamw.stateDict().param_groups });
    params.forEach((p, j) => (p.grad = ref.get(`grad.${torchOrder[j]}`)!));
    adamw.step();
    for (const [j, n] of torchOrder.entries()) expect(await params[j]!.data(), n).toBeAllClose(await ref.get(`param.${n}`)!.data(), { rtol: 1e-6 });
    expect(readFileSync(join(FIX, 'check.log'), 'utf8')).toMatch(/torch.load\(clip_tiny_epoch_1\.pt, weights_only=True\)( with torch 2\.0's BINFLOAT rule added)?: ok/);
    adamw.dispose();
    model.dispose();
    for (const t of [...tree.tensors.values(), ...ref.values(), ...params]) t.dispose();
  });

  it('kiln export --format pytorch and --format hf from the command line', async () => {
    const ck = await sourceCheckpoint();
    const dir = mkdtempSync(join(tmpdir(), 'kiln-oc-'));
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(await runCli(['export', '--format', 'pytorch', ck, join(dir, 'e.pt')], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/warning: a mid-epoch position/);
    expect(await runCli(['export', '--format', 'hf', ck, join(dir, 'hf')], io)).toBe(0);
    const hf = await kiln.models.loadHfClip(join(dir, 'hf'));
    const src = await kiln.train.readCheckpoint(ck);
    for (const [n, t] of hf.stateDict()) expect(Array.from(await t.data()), n).toEqual(Array.from(await src.tensors['model.safetensors'].get(n)!.data()));
    expect(await runCli(['export', '--format', 'onnx', ck, join(dir, 'x')], io)).toBe(2);
    hf.dispose();
    for (const t of Object.values(src.tensors).flatMap((m) => [...m.values()])) t.dispose();
  });
  it('exports an ImageBind run as the bare state dict imagebind_model.py loads (upstream names, every tensor)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-ib-'));
    const s = await kiln.train.fit({ model: { kind: 'imagebind', config: 'tiny' }, pairs: [{ a: 'vision', b: 'text' }], data: { size: 4, classes: 2 }, batchSize: 4, steps: 1, logEvery: 1, checkpointEvery: 100, out });
    const file = join(out, 'imagebind.pth');
    const r = await kiln.train.exportPytorch(s.checkpoint, file);
    expect(r.kind).toBe('imagebind-state-dict');
    expect(r.warnings.join()).toMatch(/state dict only/);
    const ck = await kiln.train.readCheckpoint(s.checkpoint);
    const model = ck.tensors['model.safetensors'];
    const back = await kiln.io.loadPth(file);
    expect(new Set(back.keys())).toEqual(new Set(model.keys()));
    for (const [n, t] of model) expect(Array.from(await back.get(n)!.data()), n).toEqual(Array.from(await t.data()));
    await expect(kiln.train.exportPytorch(s.checkpoint, file, { ddp: true })).rejects.toThrow(/--ddp applies to OpenCLIP/);
    for (const t of [...back.values(), ...Object.values(ck.tensors).flatMap((m) => [...m.values()])]) t.dispose();
  });
});
