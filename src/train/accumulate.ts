// Gradient accumulation by feature caching (OpenCLIP's --accum-freq), the only accumulation a contrastive
// loss allows: the batch is the set of negatives, so each micro-batch's gradient is taken from the
// full-batch loss. Pass 1 embeds every micro-batch without gradients and caches the embeddings; pass 2
// re-embeds each micro-batch with gradients against the cached embeddings of the others.

import { type RngState, type Tensor, cat, getRngState, noGrad, setRngState, tidy } from '../public.js';
import type { ContrastiveLoss, LossOutput } from './loss.js';
import type { TrainModel } from './model.js';

export interface AccumulateContext {
  readonly model: TrainModel;
  readonly loss: ContrastiveLoss;
  readonly modalities: readonly string[];
  /** Micro-batches per batch (divides the batch size). */
  readonly accumulate: number;
  /** True when the modality's tower trains nothing now: its cached embeddings are final, it skips pass 2. */
  readonly frozen: (modality: string) => boolean;
  /** What backward starts from for a loss (a loss scaler's scale; default the loss itself). */
  readonly scale?: (loss: Tensor) => Tensor;
}

/**
 * Backpropagates the full-batch loss of `inputs` ([B, …] per modality) in `accumulate` micro-batches and
 * returns that loss. The gradients are the full batch's, up to the order of summation:
 * dL/dθ = Σⱼ ∂L/∂eⱼ · deⱼ/dθ (pass 2, micro-batch j live, the shared scalars cut out) + ∂L/∂τ · dτ/dθ
 * (once, from the cached embeddings), so a logit scale or SigLIP bias gets its gradient once, not k times.
 * Dropout and DropPath masks in pass 2 equal pass 1's: the RNG state before each micro-batch's modality is
 * saved in pass 1 and replayed in pass 2 (per modality, so skipping a frozen tower shifts nothing).
 */
export function accumulateForwardBackward(c: AccumulateContext, inputs: Readonly<Record<string, Tensor>>): LossOutput {
  const k = c.accumulate;
  const batch = inputs[c.modalities[0]!]!.shape[0]!;
  const m = batch / k;
  const micro = (mod: string, j: number): Tensor => inputs[mod]!.narrow(0, j * m, m).contiguous();

  // Pass 1: every micro-batch's embeddings, no graph; the RNG state each one started from.
  const rng: Record<string, RngState>[] = [];
  const cached: Record<string, Tensor[]> = Object.fromEntries(c.modalities.map((mod) => [mod, []]));
  noGrad(() => {
    for (let j = 0; j < k; j++) {
      rng.push({});
      for (const mod of c.modalities) {
        rng[j]![mod] = getRngState();
        cached[mod]!.push(tidy(() => c.model.embed(mod, micro(mod, j))));
      }
    }
  });
  const after = getRngState();

  // Pass 2: micro-batch j re-embedded with gradients (its RNG replayed) among the others' cached rows.
  const live = c.modalities.filter((mod) => !c.frozen(mod));
  for (let j = 0; j < k && live.length > 0; j++)
    tidy(() => {
      const emb: Record<string, Tensor> = {};
      for (const mod of c.modalities) {
        if (!live.includes(mod)) {
          emb[mod] = cat(cached[mod]!, 0);
          continue;
        }
        setRngState(rng[j]![mod]!);
        const fresh = c.model.embed(mod, micro(mod, j));
        emb[mod] = cat(cached[mod]!.map((e, i) => (i === j ? fresh : e)), 0); // [B, E]
      }
      scaled(c, c.loss.forward(emb, { detachScalars: true }).total).backward();
    });
  setRngState(after);

  // The shared scalars' gradient, once, from the full batch of cached embeddings; this is the loss reported.
  const full = Object.fromEntries(c.modalities.map((mod) => [mod, cat(cached[mod]!, 0)]));
  const out = c.loss.forward(full);
  if (out.total.requiresGrad) scaled(c, out.total).backward();
  for (const list of Object.values(cached)) for (const e of list) e.dispose();
  return out;
}

const scaled = (c: AccumulateContext, loss: Tensor): Tensor => (c.scale ? c.scale(loss) : loss);
