// Reading the PyTorch-generated model fixtures (tests/fixtures/models/*.safetensors) by tensor name.
import type { Tensor } from '../../src/node.js';

/** Path of a file in tests/fixtures/models. */
export const modelFixture = (f: string): string => new URL(`../fixtures/models/${f}`, import.meta.url).pathname;

/** The named tensor of a loaded fixture; throws naming the key when the fixture lacks it. */
export function fixtureTensor(m: Map<string, Tensor>, k: string): Tensor {
  const t = m.get(k);
  if (!t) throw new Error(`fixture has no '${k}'`);
  return t;
}
