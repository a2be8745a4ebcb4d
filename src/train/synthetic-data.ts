// The synthetic-scene dataset (data.kind 'synthetic'): kiln.data.synthetic's training split and held-out
// split for an ImageBind-style model, its sizes taken from the model's input shapes unless the config gives
// them (then they must agree). Not the scenes themselves: those are src/data/synthetic/.

import { data } from '../public.js';
import { ConfigError, type SyntheticDataSection } from './config.js';
import type { Dataset, InputSpec } from './dataset.js';

/** Each dataset option, the model input it must agree with, and that input's dimension. */
const SIZES = [
  ['imageSize', 'vision', 1],
  ['contextLength', 'text', 0],
  ['numMelBins', 'audio', 1],
  ['targetLength', 'audio', 2],
  ['imuSamples', 'imu', 1],
] as const;

/** The training and held-out splits (held-out null when data.heldOut is 0), carrying the modalities the pairs use. */
export async function syntheticSplits(
  d: SyntheticDataSection,
  inputs: Readonly<Record<string, InputSpec>>,
  modalities: readonly string[],
  runSeed: number,
): Promise<{ train: Dataset; heldOut: Dataset | null }> {
  const known: readonly string[] = data.SYNTHETIC_MODALITIES;
  const missing = modalities.filter((m) => !known.includes(m));
  if (missing.length > 0) throw new ConfigError(`data.kind: 'synthetic' renders ${known.join(', ')}; the pairs use ${missing.join(', ')} (an ImageBind model's modality names)`);
  const sizes: Record<string, number> = {};
  for (const [field, m, dim] of SIZES) {
    const fromModel = inputs[m]?.shape[dim];
    const given = d[field];
    if (given !== null && fromModel !== undefined && given !== fromModel)
      throw new ConfigError(`data.${field}: the model's ${m} input needs ${fromModel}, got ${given} (leave it null to follow the model)`);
    const v = given ?? fromModel;
    if (v !== undefined) sizes[field] = v;
  }
  const text = inputs['text'];
  const opts = { ...sizes, seed: d.seed ?? runSeed, modalities: modalities as (typeof data.SYNTHETIC_MODALITIES)[number][] };
  const train = await data.synthetic({ ...opts, size: d.size });
  const captions = train.inputs['text'];
  if (captions && text?.vocab !== undefined && captions.vocab !== text.vocab)
    throw new ConfigError(`data.kind: 'synthetic' captions use the shipped ${String(captions.vocab)}-id vocabulary; the model's text tower has ${text.vocab} ids`);
  const heldOut = d.heldOut > 0 ? await data.synthetic({ ...opts, size: d.heldOut, split: 'heldout' }) : null;
  return { train, heldOut };
}
