// Tensor values as PyTorch prints them (torch/_tensor_str.py): one number format for the whole tensor
// (integers as `1.`, fixed `.4f`, or scientific `.4e`), right-aligned, lines wrapped at 80 columns, and
// only the first and last 3 entries of each dimension when there are more than 1000 elements.
// Pure formatting of values already read back; Tensor.format() does the readback.

import type { DType } from '../kernels/dtype.js';

const LINE_WIDTH = 80;
const THRESHOLD = 1000;
const EDGE = 3;
const PRECISION = 4;

/** Python's `{:.4e}`: at least two exponent digits (1.0000e+08, not 1.0000e+8). */
function sci(v: number): string {
  if (!Number.isFinite(v)) return nonFinite(v);
  const [m, e] = v.toExponential(PRECISION).split('e') as [string, string];
  const sign = e.startsWith('-') ? '-' : '+';
  return `${m}e${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
}

function nonFinite(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/** PyTorch's _Formatter: chooses the format from the values that will be shown. */
class Formatter {
  private intMode = true;
  private sciMode = false;
  private width = 1;

  constructor(
    private readonly dtype: DType,
    shown: readonly number[],
  ) {
    if (dtype === 'bool') {
      this.width = shown.some((v) => v === 0) ? 5 : 4;
      return;
    }
    if (dtype !== 'f32' && dtype !== 'f16') {
      for (const v of shown) this.width = Math.max(this.width, String(v).length);
      return;
    }
    const finite = shown.filter((v) => Number.isFinite(v) && v !== 0);
    if (finite.length === 0) return;
    const abs = finite.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    this.intMode = finite.every((v) => Number.isInteger(v));
    const wide = max / min > 1000 || max > 1e8;
    this.sciMode = this.intMode ? wide : wide || min < 1e-4;
    for (const v of finite) {
      const s = this.sciMode ? sci(v) : this.intMode ? `${v.toFixed(0)}.` : v.toFixed(PRECISION);
      this.width = Math.max(this.width, s.length);
    }
  }

  get elementWidth(): number {
    return this.width;
  }

  format(v: number): string {
    let s: string;
    if (this.dtype === 'bool') s = v !== 0 ? 'True' : 'False';
    else if (this.dtype !== 'f32' && this.dtype !== 'f16') s = String(v);
    else if (!Number.isFinite(v)) s = nonFinite(v);
    else if (this.sciMode) s = sci(v);
    else if (this.intMode) s = `${v.toFixed(0)}.`;
    else s = v.toFixed(PRECISION);
    return s.padStart(this.width);
  }
}

/** The indices of a dimension of size n that are shown: all, or the first and last EDGE with a gap (-1). */
function shownIndices(n: number, summarize: boolean): number[] {
  if (!summarize || n <= 2 * EDGE) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: EDGE }, (_, i) => i), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)];
}

/**
 * `tensor([...], dtype=i32, requiresGrad=True)`: `values` are the row-major elements of a tensor of
 * `shape`; `suffixes` are appended after the values (`dtype=…`, `requiresGrad=True`, `gradFn=<…>`).
 */
export function formatTensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType, suffixes: readonly string[] = []): string {
  const numel = values.length;
  const extra = [...suffixes];
  let body: string;
  if (numel === 0) {
    body = '[]';
    if (shape.length > 1) extra.unshift(`size=[${shape.join(', ')}]`);
  } else {
    const summarize = numel > THRESHOLD;
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const shown: number[] = [];
    const collect = (d: number, base: number): void => {
      if (d === shape.length) {
        shown.push(values[base]!);
        return;
      }
      for (const i of shownIndices(shape[d]!, summarize)) if (i >= 0) collect(d + 1, base + i * strides[d]!);
    };
    collect(0, 0);
    const f = new Formatter(dtype, shown);
    const render = (d: number, base: number, indent: number): string => {
      if (d === shape.length) return f.format(values[base]!);
      const idx = shownIndices(shape[d]!, summarize);
      if (d === shape.length - 1) {
        const items = idx.map((i) => (i < 0 ? ' ...' : f.format(values[base + i * strides[d]!]!)));
        const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (f.elementWidth + 2)));
        const lines: string[] = [];
        for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
        return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
      }
      const slices = idx.map((i) => (i < 0 ? '...' : render(d + 1, base + i * strides[d]!, indent + 1)));
      return `[${slices.join(',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1))}]`;
    };
    body = render(0, 0, 'tensor('.length);
  }
  return `tensor(${[body, ...extra].join(', ')})`;
}
