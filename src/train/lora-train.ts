// LoRA in the trainer: adapters installed from the config's `lora` section right after the model is built
// (before weights are restored on resume), and the export written at the end of a run:
// `<out>/export/adapter.safetensors`, the adapters alone with the base config and weights path in metadata.

import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TrainConfig } from './config.js';
import * as lora from './lora.js';
import type { TrainModel } from './model.js';

/** Installs the configured adapters (freezing the base); null when the config has no `lora` section. */
export function applyLoraConfig(cfg: TrainConfig, model: TrainModel): lora.LoraModel | null {
  if (cfg.lora === null) return null;
  return lora.apply(model.module, { ...cfg.lora, towerOf: (path) => model.towerOf(path) });
}

/** The export directory of a LoRA run. */
export const exportDir = (out: string): string => join(out, 'export');

/** Writes the adapters of a LoRA run to `<out>/export/adapter.safetensors`; returns the directory. */
export async function exportLora(cfg: TrainConfig, model: TrainModel): Promise<string> {
  const dir = exportDir(cfg.out);
  let weights: string | null = null;
  if (cfg.model.weights !== null) {
    weights = resolve(cfg.model.weights);
    if ((await stat(weights)).isDirectory()) weights = join(weights, 'model.safetensors');
  }
  await mkdir(dir, { recursive: true });
  await lora.save(model.module, join(dir, lora.ADAPTER_FILE), { config: model.architecture, baseWeights: weights });
  return dir;
}
