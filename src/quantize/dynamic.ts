// kiln.quantize.dynamic: torch.quantization.quantize_dynamic for Kiln models. Replaces the selected
// nn.Linear modules in place (Module.setSubmodule) with QuantizedLinear and frees their f32 weights.
// Attention projections stay f32 (see DynamicOptions.layers).

import { nn } from '../public.js';
import { type LayerMemory, QuantizedLinear } from './linear.js';
import type { Int8DotProduct } from './ops.js';

/** A module class (nn.Linear or a subclass), or a module path: a dotted name or a RegExp. */
export type LayerSelector = (abstract new (...args: never[]) => nn.Module) | string | RegExp;

export interface DynamicOptions {
  /**
   * Which Linear modules to quantise (torch's qconfig_spec): each entry is a class (every Linear that is an
   * instance of it), a dotted module path (that module, or every Linear below it: 'visual' is the whole
   * image tower), or a RegExp tested against each Linear's dotted path. Default [nn.Linear]: every Linear.
   * Only nn.Linear is quantised, and never the out_proj of a MultiheadAttention: as in torch (whose
   * out_proj is a NonDynamicallyQuantizableLinear), attention projections — the packed in_proj_weight
   * and out_proj — stay in the float dtype, and the fused attention kernel reads them as before.
   */
  readonly layers?: readonly LayerSelector[];
  /** The int8 dot product: 'auto' (default) uses dot4I8Packed where WGSL has it, else unpacking. */
  readonly dotProduct?: Int8DotProduct | 'auto';
}

function selected(name: string, m: nn.Module, layers: readonly LayerSelector[]): boolean {
  return layers.some((s) => {
    if (typeof s === 'string') return name === s || name.startsWith(`${s}.`) || s === '';
    if (s instanceof RegExp) return s.test(name);
    return m instanceof s;
  });
}

function checkLayers(layers: readonly LayerSelector[], model: nn.Module): void {
  if (!Array.isArray(layers) || layers.length === 0) throw new Error('quantize.dynamic: layers must list at least one module class, dotted path or RegExp');
  for (const s of layers) {
    if (typeof s === 'string') {
      if (s !== '') model.getSubmodule(s); // throws naming the missing part
    } else if (typeof s === 'function') {
      // nn.Linear, a subclass, or a base class of it (nn.Module: every Linear).
      const cls = s as { readonly prototype: unknown; readonly name: string }; // an abstract class's prototype is typed any
      const linearClass = s === nn.Linear || cls.prototype instanceof nn.Linear || nn.Linear.prototype instanceof s;
      if (!linearClass) throw new Error(`quantize.dynamic: only nn.Linear (and its subclasses) can be dynamically quantised, got the class ${cls.name}`);
    } else if (!((s as unknown) instanceof RegExp)) {
      throw new Error(`quantize.dynamic: a layers entry must be a module class, a dotted path or a RegExp, got ${String(s)}`);
    }
  }
}

/**
 * Quantises the model's Linear layers to int8 in place (per-output-channel weight scales, activations
 * quantised per row at run time) and returns the model. Inference only: a backward through a quantised
 * layer throws. Weights must be loaded first (meta-device layers are refused).
 * @example kiln.quantize.dynamic(clip, { layers: [kiln.nn.Linear] }); console.table(kiln.quantize.memoryReport(clip));
 */
export function dynamic<M extends nn.Module>(model: M, opts: DynamicOptions = {}): M {
  const layers = opts.layers ?? [nn.Linear];
  checkLayers(layers, model);
  const owners = new Set<nn.Module>();
  for (const m of model.modules()) if (m instanceof nn.MultiheadAttention) owners.add(m.outProj);
  const targets = [...model.namedModules()].filter(([name, m]) => m instanceof nn.Linear && !owners.has(m) && selected(name, m, layers)) as [string, nn.Linear][];
  for (const [name, linear] of targets) {
    const q = QuantizedLinear.fromFloat(linear);
    q.dotProduct = opts.dotProduct ?? 'auto';
    q.layerName = name;
    model.setSubmodule(name, q);
    linear.dispose();
  }
  return model;
}

/**
 * The memory of each quantised layer: its name, the f32 bytes it had (weight + bias) and the int8 bytes it
 * has (packed weights + scales + f32 bias), in module order.
 * @example console.table(kiln.quantize.memoryReport(model));
 */
export function memoryReport(model: nn.Module): LayerMemory[] {
  return [...model.namedModules()].filter(([, m]) => m instanceof QuantizedLinear).map(([name, m]) => (m as QuantizedLinear).memory(name));
}
