// kiln.quantize: dynamic int8 quantisation for inference (torch.quantization.quantize_dynamic): the
// module swap, the quantised Linear, its GPU ops and the per-layer memory report.

export { dynamic, memoryReport, type DynamicOptions, type LayerSelector } from './dynamic.js';
export { QuantizedLinear, dequantize, type LayerMemory } from './linear.js';
export { quantizeRows, int8Linear, hasPackedDot, type PackedInt8, type Int8LinearOptions, type Int8DotProduct } from './ops.js';
