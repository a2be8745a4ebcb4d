// A small training-like step for tests that count or profile work: three Linear layers with GELU, a
// cross-entropy loss, backward and an AdamW step, all inside tidy (nothing is read back).
import * as kiln from '../../src/node.js';

export interface TinyTrainer {
  /** One forward + backward + AdamW step. */
  step(): void;
  dispose(): void;
}

export function tinyTrainer(batch = 8, width = 32, classes = 5): TinyTrainer {
  const model = new kiln.nn.Sequential(
    new kiln.nn.Linear(width, width),
    new kiln.nn.GELU(),
    new kiln.nn.Linear(width, width),
    new kiln.nn.GELU(),
    new kiln.nn.Linear(width, classes),
  );
  const opt = new kiln.optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.01 });
  const x = kiln.randn([batch, width]);
  const target = kiln.tensor(Int32Array.from({ length: batch }, (_, i) => i % classes));
  return {
    step(): void {
      kiln.tidy(() => {
        const loss = kiln.F.crossEntropy(model.forward(x), target);
        loss.backward();
        opt.step();
        opt.zeroGrad();
      });
    },
    dispose(): void {
      opt.dispose();
      model.dispose();
      x.dispose();
      target.dispose();
    },
  };
}
