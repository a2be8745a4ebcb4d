// Parameter initialisers, in place and without recording (torch.nn.init's names, camelCase with `_`).
// Random draws come from Kiln's counter-based generator, so a seeded model initialises identically.

import { normal, uniform } from '../tensor/create.js';
import { noGrad } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

function fans(t: Tensor, op: string): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new Error(`${op}: fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape [${t.shape.join(',')}])`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

function fill(t: Tensor, src: () => Tensor): Tensor {
  noGrad(() => {
    const s = src();
    t.copy_(s);
    s.dispose();
  });
  return t;
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return fill(t, () => uniform(t.shape, a, b));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return fill(t, () => normal(t.shape, mean, std));
}

export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t, 'xavierUniform_');
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** Glorot normal: N(0, gain²·2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t, 'xavierNormal_');
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/** He uniform with leaky-ReLU slope `a` over fan_in: U(−b, b), b = √(6 / ((1 + a²)·fan_in)). */
export function kaimingUniform_(t: Tensor, a = 0): Tensor {
  const { fanIn } = fans(t, 'kaimingUniform_');
  const bound = Math.sqrt(6 / ((1 + a * a) * fanIn));
  return uniform_(t, -bound, bound);
}

/**
 * PyTorch's default nn.Linear / nn.Conv initialisers for a layer with `fanIn` inputs per output:
 * kaiming_uniform(a=√5) for the weight, U(±1/√fan_in) for the bias (their reset_parameters).
 */
export function linearDefaults(fanIn: number): { weight: (t: Tensor) => Tensor; bias: (t: Tensor) => Tensor } {
  const b = 1 / Math.sqrt(fanIn);
  return { weight: (t) => kaimingUniform_(t, Math.sqrt(5)), bias: (t) => uniform_(t, -b, b) };
}

/**
 * Normal(mean, std) truncated to [a, b] (PyTorch's trunc_normal_): inverse-CDF sampling from a uniform
 * draw between Φ(a) and Φ(b), so no value is resampled and the draw stays reproducible.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  const phi = (x: number): number => (1 + erf(x / Math.SQRT2)) / 2;
  const lo = phi((a - mean) / std);
  const hi = phi((b - mean) / std);
  return fill(t, () => {
    const u = uniform(t.shape, 2 * lo - 1, 2 * hi - 1);
    const z = u.erfinv();
    const y = z.mul(std * Math.SQRT2).add(mean).clamp(a, b);
    u.dispose();
    z.dispose();
    return y;
  });
}

/** erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), for the truncation bounds on the CPU. */
function erf(x: number): number {
  const s = Math.sign(x);
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-ax * ax);
  return s * y;
}
