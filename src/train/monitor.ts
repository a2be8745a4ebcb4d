// What happens between backward and the optimizer step, all on the GPU: gradient norms (global and per
// tower), clipping by the global L2 norm, the non-finite guard that makes the step a no-op, and a small GPU
// ring of each step's losses and norms that is read back once per log interval.

import { type Tensor, maximum, nn, noGrad, stack, zeros } from '../public.js';

export interface Tower {
  readonly name: string;
  readonly params: readonly Tensor[];
}

export class StepMonitor {
  /** Column names of a ring row. */
  readonly columns: readonly string[];
  /** [rows, columns] f32: one row per step since the last read. */
  readonly ring: Tensor;
  /** Rows written since the last read. */
  fill = 0;

  constructor(
    readonly rows: number,
    pairNames: readonly string[],
    readonly towers: readonly Tower[],
    readonly clipNorm: number | null,
  ) {
    this.columns = ['loss', ...pairNames.map((p) => `loss:${p}`), 'gradNorm', ...towers.map((t) => `gradNorm:${t.name}`), 'nonFinite'];
    this.ring = zeros([rows, this.columns.length]);
  }

  /**
   * After backward: norms, clipping (torch's clip_grads_with_norm_: coef = max/(‖g‖ + 1e-6), at most 1), the
   * non-finite flag raised in the optimizer's `foundInf` (the loop clears it before each step; a raised flag
   * makes AdamW's step a bitwise no-op), and the ring row. Nothing is read back.
   */
  afterBackward(total: Tensor, perPair: readonly Tensor[], foundInf: Tensor): void {
    if (this.fill >= this.rows) throw new Error(`StepMonitor: the ring of ${this.rows} rows is full (read it every log interval)`);
    noGrad(() => {
      // ‖g‖ per tower (fixed-order GPU reductions), then the global norm from them: √Σ tower².
      const towerNorms = this.towers.map((t) => nn.utils.getTotalNorm(t.params.map((p) => p.grad)));
      const norm = towerNorms.reduce<Tensor>((acc, n) => acc.add(n.square()), zeros([])).sqrt();
      // Non-finite iff loss + ‖g‖ is: x − x is 0 for finite x and NaN for ±inf and NaN.
      const probe = total.detach().add(norm);
      const bad = probe.sub(probe).eq(0).logicalNot().cast('f32');
      if (this.clipNorm !== null) nn.utils.clipGradsWithNorm_(this.towers.flatMap((t) => t.params), this.clipNorm, norm);
      // Raise, never clear: whatever raised the flag earlier in this step (a loss scaler's unscale) stands.
      foundInf.copy_(maximum(foundInf, bad));
      const row = stack([total.detach(), ...perPair.map((p) => p.detach()), norm, ...towerNorms, foundInf.reshape([])]);
      this.ring.select(0, this.fill).copy_(row);
    });
    this.fill++;
  }

  /** One readback of the ring: the rows written since the last read, by column name; empties the ring. */
  async read(): Promise<Record<string, number>[]> {
    const n = this.fill;
    if (n === 0) return [];
    const data = await this.ring.data();
    this.fill = 0;
    const k = this.columns.length;
    return Array.from({ length: n }, (_, r) => Object.fromEntries(this.columns.map((c, j) => [c, data[r * k + j]!])));
  }
}
