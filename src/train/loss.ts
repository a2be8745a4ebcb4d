// The contrastive objective over the configured modality pairs: per pair, logits = cosine × the pair's
// temperature, then symmetric InfoNCE through the fused kiln.F.infoNCE or SigLIP's pairwise sigmoid loss
// (with its learnable bias); the total is the weighted sum of the pairs' losses.

import { type Tensor, F, eye, full, minimum } from '../public.js';
import type { LossSection, PairSpec } from './config.js';
import type { TrainModel } from './model.js';

export interface LossOutput {
  /** Σ weight·loss over the pairs, a 0-d tensor. */
  readonly total: Tensor;
  /** Each pair's loss (unweighted), 0-d tensors, in the order of the pairs. */
  readonly perPair: readonly Tensor[];
}

/** The name a pair goes by in metrics and parameter names: 'vision-text'. */
export const pairName = (p: PairSpec): string => `${p.a}-${p.b}`;

/** log σ(z) = min(z, 0) − log(1 + e^{−|z|}), stable for large |z|. */
function logSigmoid(z: Tensor): Tensor {
  return minimum(z, 0).sub(z.abs().neg().exp().add(1).log());
}

/** SigLIP: −Σ log σ(yᵢⱼ·(t·aᵢ·bⱼ + bias)) / N with y = +1 on the diagonal, −1 elsewhere (OpenCLIP's SigLipLoss). */
export function sigLipLoss(a: Tensor, b: Tensor, temperature: Tensor, bias: Tensor): Tensor {
  const n = a.shape[0]!;
  const logits = a.matmul(b.t()).mul(temperature).add(bias); // [N, N]
  const labels = eye(n).mul(2).sub(1);
  return logSigmoid(labels.mul(logits)).sum().div(-n);
}

export class ContrastiveLoss {
  /** SigLIP's learnable biases, one per pair, by name ('loss.vision-text.logit_bias'). */
  readonly params = new Map<string, Tensor>();

  constructor(readonly cfg: LossSection, readonly pairs: readonly PairSpec[], readonly model: TrainModel) {
    if (cfg.kind === 'siglip') for (const p of pairs) this.params.set(`loss.${pairName(p)}.logit_bias`, full([], cfg.siglipBiasInit).requiresGrad_(true));
  }

  /**
   * The pairs' losses from unit-norm embeddings per modality ([B, E] each). `detachScalars` cuts the shared
   * scalars (temperatures, SigLIP biases) out of the graph: feature-cached accumulation takes their
   * gradient once, from the full batch, instead of once per micro-batch.
   */
  forward(emb: Readonly<Record<string, Tensor>>, opts: { readonly detachScalars?: boolean } = {}): LossOutput {
    const cut = (x: Tensor): Tensor => (opts.detachScalars ? x.detach() : x);
    const perPair = this.pairs.map((p) => {
      const a = emb[p.a]!;
      const b = emb[p.b]!;
      const t = cut(this.model.temperature(p.a, p.b));
      return this.cfg.kind === 'infonce' ? F.infoNCE(a, b, t) : sigLipLoss(a, b, t, cut(this.params.get(`loss.${pairName(p)}.logit_bias`)!));
    });
    let total = perPair[0]!.mul(this.pairs[0]!.weight);
    for (let i = 1; i < perPair.length; i++) total = total.add(perPair[i]!.mul(this.pairs[i]!.weight));
    return { total, perPair };
  }
}
