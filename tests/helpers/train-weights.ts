// The weights kiln.train.fit starts from, built the way fit builds them (same seed, same order), for tests
// that compare a step's update w₁ − w₀ or check that frozen parameters did not move.
import * as kiln from '../../src/node.js';

export type Weights = Map<string, Float32Array>;

/** A built model with its loss, as fit builds them (seeded the same way). */
export async function build(input: kiln.train.TrainConfigInput): Promise<{ model: kiln.train.TrainModel; loss: kiln.train.ContrastiveLoss; named: [string, kiln.Tensor][]; cfg: kiln.train.TrainConfig }> {
  const cfg = await kiln.train.resolveConfig({ steps: 1, ...input });
  kiln.manualSeed(cfg.seed);
  const model = await kiln.train.buildModel(cfg);
  const loss = new kiln.train.ContrastiveLoss(cfg.loss, cfg.pairs.length > 0 ? cfg.pairs : model.defaultPairs, model);
  return { model, loss, named: [...model.module.namedParameters(), ...model.extraParams, ...loss.params], cfg };
}

/** The weights fit starts from: the model's state dict and the trainer-owned tensors, named as in its checkpoints. */
export async function initialWeights(input: kiln.train.TrainConfigInput): Promise<Weights> {
  const { model, loss } = await build(input);
  const w: Weights = new Map();
  for (const [k, t] of model.module.stateDict()) if (t.dtype === 'f32') w.set(`model.safetensors:${k}`, (await t.data()) as Float32Array);
  for (const [k, t] of [...model.extraParams, ...loss.params]) w.set(`trainer.safetensors:${k}`, (await t.data()) as Float32Array);
  for (const t of [...model.extraParams.values(), ...loss.params.values()]) t.dispose();
  model.module.dispose();
  return w;
}

