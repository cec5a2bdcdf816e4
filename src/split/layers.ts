import type { NodeProto } from 'onnx-buf';
import type { GraphView } from '../onnx/graph.ts';

/** One layer: a run of consecutive nodes (in topological order) that share a layer name. */
export interface Layer {
  /** 0-based position among the layers. */
  index: number;
  /** The layer's name: the Keras layer name for imported models, a node-name prefix, or the node name. */
  name: string;
  /** Indices into `GraphView.order`, ascending and contiguous. */
  nodes: number[];
  /** The op types of its nodes, in order, without repeats. */
  opTypes: string[];
}

/** How layers were found: from node-name prefixes (`dense_1/MatMul` → `dense_1`), or one per node. */
export type LayerGranularity = 'layer' | 'node';

/**
 * The layer key of a node: the part of its name before the last '/', so `dense_1/MatMul` and
 * `dense_1/Relu` (a Keras Dense with activation, as the importer and tf2onnx name nodes) are one
 * layer. A name without '/' is a layer of its own; an unnamed node is keyed by its first output.
 */
export function layerKey(node: NodeProto): string {
  const name = node.name || node.output[0] || node.opType;
  const slash = name.lastIndexOf('/');
  return slash > 0 ? name.slice(0, slash) : name;
}

/**
 * Groups a graph's nodes into layers: consecutive nodes with the same {@link layerKey}. A key that
 * comes back after another layer starts a new layer named `<key>#2`, so every cut between layers
 * is a cut in topological order.
 */
export function groupLayers(view: GraphView): { layers: Layer[]; granularity: LayerGranularity } {
  const layers: Layer[] = [];
  const seen = new Map<string, number>();
  // A weight-derived node (see GraphView.constants) belongs to the layer of its first consumer.
  const keys = view.order.map((n) => layerKey(n));
  for (let i = view.order.length - 1; i >= 0; i--) {
    const n = view.order[i]!;
    if (!n.output.some((o) => view.constants.has(o))) continue;
    const first = Math.min(...n.output.flatMap((o) => view.consumers.get(o) ?? []));
    if (Number.isFinite(first)) keys[i] = keys[first]!;
  }
  view.order.forEach((n, i) => {
    const key = keys[i]!;
    const last = layers[layers.length - 1];
    if (last && last.name === key) {
      last.nodes.push(i);
      if (!last.opTypes.includes(n.opType)) last.opTypes.push(n.opType);
      return;
    }
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    layers.push({ index: layers.length, name: count === 1 ? key : `${key}#${count}`, nodes: [i], opTypes: [n.opType] });
  });
  const granularity: LayerGranularity = layers.some((l) => l.nodes.length > 1) || view.order.some((n) => (n.name ?? '').includes('/')) ? 'layer' : 'node';
  return { layers, granularity };
}
