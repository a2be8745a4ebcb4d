// The two GPU ops of dynamic int8 quantisation, launched through kiln.customOp: quantizeRows (symmetric
// per-row int8, packed four to a u32, with its f32 scales) and int8Linear (quantise the activations per row,
// int8 matmul with i32 accumulation, f32 dequantise + bias). Inference only: int8Linear's gradient throws.

import * as kiln from '../public.js';
import { type Int8DotProduct, PACKED_DOT_FEATURE, matmulInt8Kernel, matmulInt8Launch, packedWords, quantizeRowsKernel, quantizeRowsLaunch } from '../kernels/matmul-int8.js';

export type { Int8DotProduct } from '../kernels/matmul-int8.js';

/** Rows of int8 values packed four to a u32 word ([rows, ceil(cols / 4)]), with one f32 scale per row. */
export interface PackedInt8 {
  /** u32 [rows, ceil(cols / 4)]: byte j of word w is column 4w + j, two's complement; padding bytes are 0. */
  readonly values: kiln.Tensor;
  /** f32 [rows]: value = int8 · scale. */
  readonly scales: kiln.Tensor;
  readonly cols: number;
}

const maxGrid = (): number => kiln.deviceInfo().limits['maxComputeWorkgroupsPerDimension'] ?? 65535;

let quantizeOp: ((...xs: kiln.Tensor[]) => kiln.Tensor) | null = null;

/**
 * Symmetric per-row int8 quantisation of a 2-D f32 (or f16) tensor on the GPU: scale = max|row| / 127,
 * q = clamp(round(x / scale), −127, 127). Weights use it per output channel, activations per token.
 * @example const { values, scales } = kiln.quantize.quantizeRows(w); // w [out, in]
 */
export function quantizeRows(x: kiln.Tensor): PackedInt8 {
  if (x.ndim !== 2) throw new Error(`quantizeRows: expected a 2-D tensor [rows, cols], got shape [${x.shape.join(', ')}]`);
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new Error(`quantizeRows: expected a float tensor, got dtype ${x.dtype}`);
  const [rows, cols] = x.shape as [number, number];
  // Created once (the kernel text is loaded by init); the forward reads its sizes from its inputs.
  quantizeOp ??= kiln.customOp({
    name: 'quantize_rows_int8',
    kernels: { rows: quantizeRowsKernel() },
    // The scales tensor is the op's second output, passed in to be written (customOp returns one tensor).
    forward(ctx, xf, scales) {
      const [rows, cols] = xf.shape as [number, number];
      const q = ctx.empty([rows, packedWords(cols)], 'u32');
      ctx.launch('rows', { tensors: [q, scales, xf], ...quantizeRowsLaunch(rows, cols, maxGrid()) });
      return q;
    },
  });
  const scales = kiln.empty([rows]);
  const xf = x.dtype === 'f32' ? x : x.cast('f32');
  const values = kiln.noGrad(() => quantizeOp!(xf, scales));
  if (xf !== x) xf.dispose();
  return { values, scales, cols };
}

/** Whether this implementation's WGSL has dot4I8Packed. */
export function hasPackedDot(): boolean {
  return kiln.deviceInfo().wgslLanguageFeatures.includes(PACKED_DOT_FEATURE);
}

/** The dot product the int8 matmul will use for `asked` ('auto': packed where the implementation has it). */
export function resolveDotProduct(asked: Int8DotProduct | 'auto'): Int8DotProduct {
  if (asked === 'auto') return hasPackedDot() ? 'packed' : 'unpacked';
  if (asked === 'packed' && !hasPackedDot())
    throw new Error(`quantize: dotProduct 'packed' needs the WGSL language feature '${PACKED_DOT_FEATURE}', which this WebGPU implementation lacks; use 'unpacked' or 'auto'`);
  if (asked !== 'unpacked' && asked !== 'packed') throw new Error(`quantize: dotProduct must be 'auto', 'packed' or 'unpacked', got ${JSON.stringify(asked)}`);
  return asked;
}

export interface Int8LinearOptions {
  /** 'auto' (default): dot4I8Packed where the implementation has it, else unpacking. */
  readonly dotProduct?: Int8DotProduct | 'auto';
  /** Named in the error a backward through this op raises. */
  readonly name?: string;
}

let sentinel: kiln.Tensor | null = null;
function gradSentinel(): kiln.Tensor {
  if (sentinel === null || sentinel.isDisposed) sentinel = kiln.zeros([1], { requiresGrad: true });
  return sentinel;
}

const linearOps = new Map<string, (...xs: kiln.Tensor[]) => kiln.Tensor>();

/** The customOp for one dot product, with or without bias, whose backward error names `layer`. */
function linearOp(dot: Int8DotProduct, hasBias: boolean, layer: string): (...xs: kiln.Tensor[]) => kiln.Tensor {
  const key = `${dot}:${hasBias}:${layer}`;
  let op = linearOps.get(key);
  if (op) return op;
  op = kiln.customOp({
    name: `int8_linear_${dot}`,
    kernels: { rows: quantizeRowsKernel(), matmul: matmulInt8Kernel(dot) },
    // Inputs: x [M, K] f32, wq [N, KW] u32, ws [N] f32, then bias [N] when hasBias; a trailing grad
    // sentinel (see int8Linear) is not read.
    forward(ctx, x, wq, ws, bias) {
      const [M, K] = x.shape as [number, number];
      const N = wq.shape[0]!;
      const xq = ctx.empty([M, packedWords(K)], 'u32');
      const xs = ctx.empty([M]);
      ctx.launch('rows', { tensors: [xq, xs, x], ...quantizeRowsLaunch(M, K, maxGrid()) });
      const y = ctx.empty([M, N]);
      // Without bias, ws is bound a second time in the bias slot, which the kernel does not read.
      ctx.launch('matmul', { tensors: [y, xq, xs, wq, ws, hasBias ? bias : ws], ...matmulInt8Launch(M, N, K, hasBias, maxGrid()) });
      xq.dispose();
      xs.dispose();
      return y;
    },
    backward() {
      throw new Error(
        `quantize: ${layer ? `'${layer}' is` : 'this is'} an int8 dynamically quantised Linear, which is inference only: backward is not supported. ` +
          'Train (or fine-tune) the float model and quantise it afterwards.',
      );
    },
  });
  linearOps.set(key, op);
  return op;
}

/**
 * y = x·Wᵀ + b with W given as per-output-channel int8 (`weight` from quantizeRows of the [out, in] weight)
 * and x quantised per row on the GPU at run time; i32 accumulation, f32 dequantisation. x [..., in] → [..., out].
 * @example const y = kiln.quantize.int8Linear(x, kiln.quantize.quantizeRows(w), b);
 */
export function int8Linear(x: kiln.Tensor, weight: PackedInt8, bias: kiln.Tensor | null, opts: Int8LinearOptions = {}): kiln.Tensor {
  const K = weight.cols;
  const N = weight.values.shape[0]!;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== K) throw new Error(`int8Linear: expected input with last dimension ${K}, got shape [${x.shape.join(', ')}]`);
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== N)) throw new Error(`int8Linear: expected bias of shape [${N}], got [${bias.shape.join(', ')}]`);
  const dot = resolveDotProduct(opts.dotProduct ?? 'auto');
  const lead = x.shape.slice(0, -1);
  const M = lead.reduce((a, b) => a * b, 1);
  // Made before tidy, which would dispose it (an enclosing tidy may: it is then made again).
  const sentinel = kiln.isGradEnabled() ? gradSentinel() : null;
  return kiln.tidy(() => {
    const x2 = (x.dtype === 'f32' ? x : x.cast('f32')).reshape([M, K]);
    const b = bias === null ? null : bias.dtype === 'f32' ? bias : bias.cast('f32');
    const inputs = [x2, weight.values, weight.scales, ...(b === null ? [] : [b])];
    // With gradients on, a sentinel leaf that requires grad makes the op record even when x does not, so
    // that any backward through a quantised layer raises (above) instead of silently skipping it.
    if (sentinel) inputs.push(sentinel);
    const y = linearOp(dot, b !== null, opts.name ?? '')(...inputs).reshape([...lead, N]);
    return x.dtype === 'f32' ? y : y.cast(x.dtype);
  });
}
