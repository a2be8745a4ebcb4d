// Run-time argument checks shared by ops: JavaScript callers (and `as any` TypeScript) can pass anything,
// and a bare TypeError from deep inside an op names neither the op nor the value.

import { describeValue } from '../shape.js';
import { Tensor } from '../tensor.js';

/** Throws `op: expected a Tensor as the <what>, got <value>` unless `v` is a Tensor. */
export function expectTensor(op: string, what: string, v: unknown): asserts v is Tensor {
  if (!(v instanceof Tensor)) throw new Error(`${op}: expected a Tensor as the ${what}, got ${describeValue(v)}${typeof v === 'string' ? ' (a string)' : ''}`);
}
