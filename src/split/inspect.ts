import type { NodeProto } from 'onnx-buf';
import type { GraphView } from '../onnx/graph.ts';
import { DTYPE_BY_ONNX, DTYPE_SIZE, type Dim, type TensorSpec } from '../onnx/tensor-spec.ts';
import { listCuts, type CutList } from './cuts.ts';

/** One row of `enclave-nn inspect`: a layer and the cut after it. */
export interface LayerRow {
  index: number;
  name: string;
  opTypes: string[];
  /** The layer's (last node's first) output. */
  output: TensorSpec | undefined;
  /** Weights first used by this layer (a shared weight counts once, where first used). */
  paramCount: number;
  paramSize: number;
  /** Estimated floating-point operations for one sample (Conv, Gemm, MatMul, pooling; 0 for the rest). */
  flops: number;
  /** Tensors crossing the cut right after this layer; empty after the last layer. */
  cutAfter: string[];
  /** k for `--private k` when cutting after this layer (0 after the last layer). */
  privateIfCutAfter: number;
}

/** The whole inspection of a model. */
export interface Inspection {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  granularity: CutList['granularity'];
  layers: LayerRow[];
  totals: { paramCount: number; paramSize: number; flops: number };
  /** How intermediate types were found. */
  typeSources: Record<string, number>;
}

const prod = (dims: readonly Dim[]) => dims.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);

/** Per-sample FLOPs estimate of one node, from its tensors' shapes (symbolic dims count as 1). */
export function estimateFlops(view: GraphView, n: NodeProto): number {
  const out = view.typeOf(n.output[0] ?? '');
  if (!out) return 0;
  const outCount = prod(out.shape);
  const intAttr = (name: string) => n.attribute.find((a) => a.name === name);
  switch (n.opType) {
    case 'Conv': case 'ConvTranspose': {
      const w = view.typeOf(n.input[1] ?? '');
      if (!w) return 0;
      // Conv W is [Cout, Cin/group, kh, kw]: each output element costs Cin/group·kh·kw MACs.
      // ConvTranspose W is [Cin, Cout/group, kh, kw]: each input element scatters Cout/group·kh·kw MACs.
      if (n.opType === 'Conv') return 2 * outCount * prod(w.shape.slice(1));
      return 2 * prod(view.typeOf(n.input[0] ?? '')?.shape ?? []) * prod(w.shape.slice(1));
    }
    case 'Gemm': case 'MatMul': {
      const a = view.typeOf(n.input[0] ?? '');
      if (!a) return 0;
      const transA = Number(intAttr('transA')?.i ?? 0n);
      const k = a.shape[transA && n.opType === 'Gemm' ? 0 : a.shape.length - 1];
      return 2 * outCount * (typeof k === 'number' ? k : 1);
    }
    case 'MaxPool': case 'AveragePool': case 'LpPool': {
      const ks = intAttr('kernel_shape')?.ints.map(Number) ?? [];
      return outCount * ks.reduce((a, b) => a * b, 1);
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': {
      const x = view.typeOf(n.input[0] ?? '');
      return x ? prod(x.shape) : 0;
    }
    default:
      return 0;
  }
}

/** Builds the layer table that `enclave-nn inspect` prints. Call `view.inferTypes()` first. */
export function inspectModel(view: GraphView): Inspection {
  const list = listCuts(view);
  const counted = new Set<string>();
  const rows: LayerRow[] = list.layers.map((layer) => {
    let paramCount = 0;
    let paramSize = 0;
    let flops = 0;
    for (const i of layer.nodes) {
      const n = view.order[i]!;
      flops += estimateFlops(view, n);
      for (const name of n.input) {
        const t = view.initializers.get(name);
        // int64 initializers are shapes, axes and pads (Reshape targets), not parameters.
        if (!t || counted.has(name) || DTYPE_BY_ONNX[t.dataType] === 'int64') continue;
        counted.add(name);
        const count = t.dims.reduce((a, d) => a * Number(d), 1);
        paramCount += count;
        paramSize += count * (DTYPE_SIZE[DTYPE_BY_ONNX[t.dataType] ?? 'float32'] || 1);
      }
    }
    const last = view.order[layer.nodes[layer.nodes.length - 1]!]!;
    const k = list.layers.length - 1 - layer.index;
    const cut = list.cuts.find((c) => c.privateLayers === k);
    const out = view.typeOf(last.output[0] ?? '');
    return {
      index: layer.index, name: layer.name, opTypes: layer.opTypes,
      output: out ? { name: out.name, dtype: out.dtype, shape: out.shape } : undefined,
      paramCount, paramSize, flops, cutAfter: cut ? cut.tensors : [], privateIfCutAfter: k,
    };
  });
  const typeSources: Record<string, number> = {};
  for (const n of view.order) for (const o of n.output) {
    const s = view.typeOf(o)?.source ?? 'unknown';
    typeSources[s] = (typeSources[s] ?? 0) + 1;
  }
  return {
    inputs: [...view.inputs], outputs: [...view.outputs], granularity: list.granularity, layers: rows,
    totals: rows.reduce((t, r) => ({ paramCount: t.paramCount + r.paramCount, paramSize: t.paramSize + r.paramSize, flops: t.flops + r.flops }), { paramCount: 0, paramSize: 0, flops: 0 }),
    typeSources,
  };
}
