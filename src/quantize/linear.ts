// QuantizedLinear: the int8 replacement of an nn.Linear that kiln.quantize.dynamic installs (torch's
// nn.quantized.dynamic.Linear): int8 weights with one f32 scale per output channel, activations quantised
// per row at run time on the GPU. Inference only.

import { type Tensor, nn, tidy } from '../public.js';
import { type Int8DotProduct, type PackedInt8, int8Linear, quantizeRows } from './ops.js';

/** Bytes per layer before and after quantisation (weights + bias; the int8 side adds its packed scales). */
export interface LayerMemory {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The f32 layer's weight and bias bytes. */
  readonly f32Bytes: number;
  /** Packed int8 weights (rows padded to whole 4-byte words) + f32 scales + f32 bias. */
  readonly int8Bytes: number;
}

export class QuantizedLinear extends nn.Module {
  /** Which int8 dot product the matmul uses ('auto': dot4I8Packed where the implementation has it). */
  dotProduct: Int8DotProduct | 'auto' = 'auto';
  /** The dotted path in the model, named in errors. */
  layerName = '';

  private constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    weight: PackedInt8,
    bias: Tensor | null,
  ) {
    super();
    this.registerBuffer('weight_packed', weight.values); // u32 [out, ceil(in / 4)]
    this.registerBuffer('weight_scale', weight.scales); // f32 [out]
    this.registerBuffer('bias', bias); // f32 [out], or null
    this.training = false;
  }

  /** Quantises `linear`'s weight per output channel (symmetric, on the GPU); copies its bias as f32. */
  static fromFloat(linear: nn.Linear): QuantizedLinear {
    const w = linear.weight;
    if (w.isMeta) throw new Error('quantize: a Linear on the meta device has no weights to quantise; load weights first');
    const b = linear.bias;
    const bias = b === null ? null : tidy(() => b.detach().cast('f32').clone());
    const wd = w.detach();
    const packed = quantizeRows(wd);
    wd.dispose();
    return new QuantizedLinear(linear.inFeatures, linear.outFeatures, packed, bias);
  }

  get weight(): PackedInt8 {
    return { values: this.getBuffer('weight_packed')!, scales: this.getBuffer('weight_scale')!, cols: this.inFeatures };
  }

  get bias(): Tensor | null {
    return this.getBuffer('bias');
  }

  forward(x: Tensor): Tensor {
    return int8Linear(x, this.weight, this.bias, { dotProduct: this.dotProduct, name: this.layerName });
  }

  /** The weights as f32 again (int8 · scale), [out, in]: what the int8 matmul multiplies by. */
  dequantizedWeight(): Promise<Float32Array> {
    return dequantize(this.weight, this.outFeatures);
  }

  memory(name: string): LayerMemory {
    const words = Math.ceil(this.inFeatures / 4);
    const biasBytes = this.bias === null ? 0 : 4 * this.outFeatures;
    return {
      name,
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      f32Bytes: 4 * this.inFeatures * this.outFeatures + biasBytes,
      int8Bytes: 4 * words * this.outFeatures + 4 * this.outFeatures + biasBytes,
    };
  }
}

/** Unpacks per-row int8 words and their scales into f32 [rows, cols] (int8 · scale), on the CPU. */
export async function dequantize(p: PackedInt8, rows: number): Promise<Float32Array> {
  const words = new Uint32Array((await p.values.data()).buffer.slice(0));
  const scales = await p.scales.data();
  const W = Math.ceil(p.cols / 4);
  const out = new Float32Array(rows * p.cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < p.cols; c++) {
      const byte = (words[r * W + (c >> 2)]! >>> (8 * (c & 3))) & 0xff;
      out[r * p.cols + c] = ((byte << 24) >> 24) * scales[r]!;
    }
  return out;
}
