// A minimal ONNX protobuf writer, enough to build the bench's graphs in memory for ONNX Runtime:
// Y = A · B, or Y = A · Transpose(B) for the attention shape; Softmax and LayerNormalization (opset 17)
// over the last axis. Field numbers are those of onnx.proto.

const enc = new TextEncoder();

/** Protobuf varint of a non-negative safe integer. */
function varint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

const concat = (parts) => {
  const flat = parts.flatMap((p) => (p instanceof Uint8Array ? [...p] : p));
  return Uint8Array.from(flat);
};
/** field `no` as a varint (wire type 0) */
const int = (no, v) => [...varint(no * 8), ...varint(v)];
/** field `no` as bytes: a nested message or a string (wire type 2) */
const bytes = (no, b) => {
  const body = typeof b === 'string' ? enc.encode(b) : b;
  return [...varint(no * 8 + 2), ...varint(body.length), ...body];
};
const msg = (...fields) => concat(fields);

// TensorProto.DataType.FLOAT
const FLOAT = 1;
// AttributeProto.AttributeType: FLOAT, INT, INTS
const FLOAT_ATTR = 1;
const INT_ATTR = 2;
const INTS = 7;

function valueInfo(name, dims) {
  const shape = msg(...dims.map((d) => bytes(1 /* dim */, msg(int(1 /* dim_value */, d)))));
  const tensorType = msg(int(1 /* elem_type */, FLOAT), bytes(2 /* shape */, shape));
  return msg(bytes(1 /* name */, name), bytes(2 /* type */, msg(bytes(1 /* tensor_type */, tensorType))));
}

function node(opType, inputs, outputs, name, attrs = []) {
  return msg(
    ...inputs.map((i) => bytes(1, i)),
    ...outputs.map((o) => bytes(2, o)),
    bytes(3, name),
    bytes(4, opType),
    ...attrs.map((a) => bytes(5, a)),
  );
}

const intsAttr = (name, values) => msg(bytes(1, name), ...values.map((v) => int(8 /* ints */, v)), int(20 /* type */, INTS));
/** a non-negative INT attribute (the writer's varint has no negative numbers: give axes from the front) */
const intAttr = (name, v) => msg(bytes(1, name), int(3 /* i */, v), int(20 /* type */, INT_ATTR));
/** a FLOAT attribute: field 2 as fixed32 (wire type 5), little-endian */
const floatAttr = (name, v) => {
  const f = new Uint8Array(new Float32Array([v]).buffer);
  return msg(bytes(1, name), [...varint(2 * 8 + 5), ...f], int(20 /* type */, FLOAT_ATTR));
};

/** A model from its nodes and graph inputs/outputs ([name, dims] pairs), at `opset` of the default domain. */
function model(nodes, name, inputs, outputs, opset) {
  const graph = msg(
    ...nodes.map((n) => bytes(1 /* node */, n)),
    bytes(2 /* name */, name),
    ...inputs.map(([n, d]) => bytes(11 /* input */, valueInfo(n, d))),
    ...outputs.map(([n, d]) => bytes(12 /* output */, valueInfo(n, d))),
  );
  return msg(
    int(1 /* ir_version */, 8),
    bytes(2 /* producer_name */, 'kiln-bench'),
    bytes(7 /* graph */, graph),
    bytes(8 /* opset_import */, msg(bytes(1 /* domain */, ''), int(2 /* version */, opset))),
  );
}

/** Y = Softmax(X) over the last axis of X ([rows, d]); opset 13 (softmax over one axis, not flattened). */
export function softmaxModel(dims) {
  const axis = dims.length - 1;
  return model([node('Softmax', ['X'], ['Y'], 'softmax', [intAttr('axis', axis)])], 'kiln_bench_softmax', [['X', dims]], [['Y', dims]], 13);
}

/** Y = LayerNormalization(X, W, B) over the last axis, epsilon `eps`; opset 17, W and B graph inputs. */
export function layerNormModel(dims, eps) {
  const axis = dims.length - 1;
  const d = [dims[axis]];
  const ln = node('LayerNormalization', ['X', 'W', 'B'], ['Y'], 'layer_norm', [intAttr('axis', axis), floatAttr('epsilon', eps)]);
  return model([ln], 'kiln_bench_layer_norm', [['X', dims], ['W', d], ['B', d]], [['Y', dims]], 17);
}

/**
 * ONNX model bytes for Y = A · B (transB false) or Y = A · Bᵀ over the last two axes (transB true), with
 * static shapes `dimsA`, `dimsB`, `dimsY`. Opset 13, IR version 7.
 */
export function matmulModel(dimsA, dimsB, dimsY, transB) {
  const nodes = [];
  let rhs = 'B';
  if (transB) {
    const perm = dimsB.map((_, i) => i);
    [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
    nodes.push(node('Transpose', ['B'], ['Bt'], 'transpose_b', [intsAttr('perm', perm)]));
    rhs = 'Bt';
  }
  nodes.push(node('MatMul', ['A', rhs], ['Y'], 'matmul'));
  const graph = msg(
    ...nodes.map((n) => bytes(1 /* node */, n)),
    bytes(2 /* name */, 'kiln_bench_matmul'),
    bytes(11 /* input */, valueInfo('A', dimsA)),
    bytes(11, valueInfo('B', dimsB)),
    bytes(12 /* output */, valueInfo('Y', dimsY)),
  );
  return msg(
    int(1 /* ir_version */, 7),
    bytes(2 /* producer_name */, 'kiln-bench'),
    bytes(7 /* graph */, graph),
    bytes(8 /* opset_import */, msg(bytes(1 /* domain */, ''), int(2 /* version */, 13))),
  );
}
