import { EnclaveNnError } from '../errors.ts';
import { nearestList } from '../util/nearest.ts';
import { nodeInputs, type GraphView } from '../onnx/graph.ts';
import { groupLayers, type Layer, type LayerGranularity } from './layers.ts';

/**
 * A cut: the head is everything before it, the tail (the private part) everything after.
 * `privateLayers` = k is the paper's "move the last k layers into the TEE".
 */
export interface Cut {
  /** Layers in the tail (1 … layer count). */
  privateLayers: number;
  /** The last layer of the head, or null when the whole model is private. */
  afterLayer: string | null;
  /** The first layer of the tail. */
  firstPrivateLayer: string;
  /** The non-initializer tensors flowing from the head (or the model's inputs) into the tail. */
  tensors: string[];
  /** Index into `GraphView.order` of the first tail node. */
  boundary: number;
}

/** All the cuts of a model, from most public (k = 1) to all private (k = layer count). */
export interface CutList {
  layers: Layer[];
  granularity: LayerGranularity;
  cuts: Cut[];
}

/**
 * Enumerates every valid cut in topological order, at layer granularity where layers exist
 * (see {@link groupLayers}). A sequential network has one tensor per cut; a DAG (a residual
 * block, two branches) may have several. Throws SPLIT_NO_CUT for a model with no nodes.
 */
export function listCuts(view: GraphView): CutList {
  const { layers, granularity } = groupLayers(view);
  if (layers.length === 0) throw new EnclaveNnError('SPLIT_NO_CUT', 'Cannot split model: it has no nodes, so there is no cut');
  const graphInputs = new Set(view.inputs.map((i) => i.name));
  const cuts: Cut[] = [];
  for (let k = 1; k <= layers.length; k++) {
    const first = layers[layers.length - k]!;
    const boundary = first.nodes[0]!;
    const tensors: string[] = [];
    const seen = new Set<string>();
    for (let i = boundary; i < view.order.length; i++) {
      for (const name of consumedBy(view, i)) {
        if (seen.has(name) || view.initializers.has(name)) continue;
        const p = view.producer.get(name);
        if ((p !== undefined && p < boundary) || (p === undefined && graphInputs.has(name))) {
          seen.add(name);
          tensors.push(name);
        }
      }
    }
    const head = layers[layers.length - k - 1];
    cuts.push({ privateLayers: k, afterLayer: head ? head.name : null, firstPrivateLayer: first.name, tensors, boundary });
  }
  return { layers, granularity, cuts };
}

function consumedBy(view: GraphView, nodeIndex: number): string[] {
  return nodeInputs(view.order[nodeIndex]!);
}

/**
 * Finds the cut a user asked for: `privateLayers` (`--private N`) or `at` (`--at NAME`, after
 * the named layer, or after the node producing the named tensor). Errors list the valid range
 * or names.
 */
export function selectCut(list: CutList, view: GraphView, want: { privateLayers?: number; at?: string }): Cut {
  const L = list.layers.length;
  if (want.privateLayers !== undefined) {
    const k = want.privateLayers;
    const cut = list.cuts.find((c) => c.privateLayers === k);
    if (!cut) throw new EnclaveNnError('SPLIT_RANGE', `Cannot split model: --private ${k} is out of range; valid: 1..${L} (${L <= 8 ? `layers: ${list.layers.map((l) => l.name).join(', ')}` : `the last layers: …, ${list.layers.slice(-5).map((l) => l.name).join(', ')}; enclave-nn inspect lists all ${L}`})`);
    return cut;
  }
  if (want.at !== undefined) {
    const byLayer = list.cuts.find((c) => c.afterLayer === want.at);
    if (byLayer) return byLayer;
    const p = view.producer.get(want.at);
    if (p !== undefined) {
      const layer = list.layers.find((l) => l.nodes.includes(p))!;
      const cut = list.cuts.find((c) => c.afterLayer === layer.name);
      if (cut) return cut;
      throw new EnclaveNnError('SPLIT_AT', `Cannot split model: tensor '${want.at}' is made by the last layer '${layer.name}', so nothing would be private`);
    }
    const names = list.layers.slice(0, -1).map((l) => l.name);
    throw new EnclaveNnError('SPLIT_AT', `Cannot split model: no layer or tensor named '${want.at}'; layers you can cut after: ${nearestList(want.at, names)}`);
  }
  throw new EnclaveNnError('USAGE', 'Cannot split model: give --private N or --at NAME');
}
