import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, type ModelProto, type NodeProto, type ValueInfoProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';
import { GraphView, nodeInputs } from '../onnx/graph.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { valueInfoFromSpec } from '../onnx/types.ts';
import { listCuts, selectCut, type Cut } from './cuts.ts';

/** Which cut to make: `privateLayers` (the last N layers private) or `at` (after a layer or tensor). */
export interface CutChoice {
  privateLayers?: number;
  at?: string;
}

/** Options of {@link splitModel}. */
export interface SplitOptions extends CutChoice {
  /**
   * Copy a weight used on both sides of the cut into both parts. Off by default: the copy in
   * the head would make that private weight public.
   * @defaultValue false
   */
  allowSharedWeights?: boolean;
}

/** The two halves of a model and the contract between them. */
export interface SplitResult {
  cut: Cut;
  /** The public head, or null when the whole model is private (k = layer count). */
  head: ModelProto | null;
  /** The private tail. */
  tail: ModelProto;
  /** The model's inputs (what the caller feeds). */
  inputs: TensorSpec[];
  /** The tail's inputs = the cut tensors, typed and shaped. */
  cutTensors: TensorSpec[];
  /** Outputs the head returns to the caller directly (model outputs made before the cut). */
  headOutputs: TensorSpec[];
  /** Outputs the tail computes. */
  tailOutputs: TensorSpec[];
  /** Weights copied into both parts (only with allowSharedWeights). */
  sharedWeights: string[];
}

/**
 * Cuts a model into a standalone head and tail ONNX model: every input and output typed and
 * shaped, only the initializers each side needs, the opset imports, IR version and functions
 * kept, names stable, dynamic dimensions preserved. Running the tail on the head's cut tensors
 * computes what the whole model computes.
 *
 * Throws SPLIT_SHARED_WEIGHT naming the weight when one is used on both sides (unless
 * `allowSharedWeights`), SPLIT_RANGE / SPLIT_AT for a cut that does not exist.
 *
 * @example
 * ```ts
 * const { head, tail, cutTensors } = await splitModel(loadModelFile('mnist.onnx'), { privateLayers: 2 });
 * ```
 */
export async function splitModel(model: ModelProto, options: SplitOptions): Promise<SplitResult> {
  const view = new GraphView(model);
  await view.inferTypes();
  const list = listCuts(view);
  const cut = selectCut(list, view, options);
  return extractAt(view, cut, options);
}

/** As {@link splitModel}, for a cut from `listCuts(view)` (bench and tests split many). */
export function extractAt(view: GraphView, cut: Cut, options: { allowSharedWeights?: boolean } = {}): SplitResult {
  const headNodes = view.order.slice(0, cut.boundary);
  const tailNodes = view.order.slice(cut.boundary);
  const used = (nodes: readonly NodeProto[]) => new Set(nodes.flatMap((n) => nodeInputs(n)));
  const headUses = used(headNodes);
  const tailUses = used(tailNodes);
  const shared = [...view.initializers.keys()].filter((w) => headUses.has(w) && tailUses.has(w));
  // A weight-derived tensor crossing the cut (a reshaped weight made in the head, used in the
  // tail) would publish that weight just the same.
  shared.push(...cut.tensors.filter((t) => view.constants.has(t)));
  if (shared.length > 0 && !options.allowSharedWeights) {
    throw new EnclaveNnError('SPLIT_SHARED_WEIGHT', `Cannot split model after '${cut.afterLayer}': weight '${shared[0]}' is used on both sides of the cut and would become public (use --allow-shared-weights to copy it anyway)`);
  }
  const spec = (name: string): TensorSpec => {
    const t = view.typeOf(name);
    if (!t) throw new EnclaveNnError('SPLIT_UNTYPED', `Cannot split model after '${cut.afterLayer}': the type of tensor '${name}' is unknown (not in the file, and ONNX Runtime could not infer it)`);
    return { name: t.name, dtype: t.dtype, shape: t.shape };
  };
  const inputs = view.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape }));
  const cutTensors = cut.tensors.map(spec);
  const producedInHead = new Set(headNodes.flatMap((n) => n.output));
  const headOutputs = view.outputs.filter((o) => producedInHead.has(o.name)).map((o) => spec(o.name));
  const tailOutputs = view.outputs.filter((o) => !producedInHead.has(o.name) && !inputs.some((i) => i.name === o.name)).map((o) => spec(o.name));
  if (tailOutputs.length === 0) {
    throw new EnclaveNnError('SPLIT_EMPTY_TAIL', `Cannot split model after '${cut.afterLayer}': no model output depends on the private part`);
  }
  const graphInputNames = new Set(inputs.map((i) => i.name));
  // The head returns the cut tensors it computes (model inputs that the tail reads are passed
  // through by the caller, not by the head) and the model outputs made before the cut.
  const headCutOutputs = cutTensors.filter((t) => !graphInputNames.has(t.name));
  const head = headNodes.length === 0 ? null : subModel(view, headNodes, inputs.filter((i) => headUses.has(i.name)), dedupe([...headCutOutputs, ...headOutputs]), headUses, 'head');
  const tail = subModel(view, tailNodes, cutTensors, tailOutputs, tailUses, 'tail');
  return { cut, head, tail, inputs, cutTensors, headOutputs, tailOutputs, sharedWeights: options.allowSharedWeights ? shared : [] };
}

function dedupe(specs: TensorSpec[]): TensorSpec[] {
  const seen = new Set<string>();
  return specs.filter((s) => (seen.has(s.name) ? false : (seen.add(s.name), true)));
}

function subModel(view: GraphView, nodes: NodeProto[], inputs: TensorSpec[], outputs: TensorSpec[], uses: Set<string>, part: string): ModelProto {
  const m = view.model;
  const g = view.graph;
  const initializer = g.initializer.filter((t) => uses.has(t.name));
  const produced = new Set(nodes.flatMap((n) => n.output));
  const keepInfo = (vi: ValueInfoProto) => produced.has(vi.name) && !outputs.some((o) => o.name === vi.name);
  // IR < 4 requires every initializer to be listed as a graph input too; keep that where it was so.
  const initializerInputs = m.irVersion < 4n ? g.input.filter((vi) => view.initializers.has(vi.name) && uses.has(vi.name)) : [];
  const graph = create(GraphProtoSchema, {
    name: `${g.name || 'model'}_${part}`,
    docString: g.docString,
    node: nodes,
    initializer,
    sparseInitializer: g.sparseInitializer,
    input: [...inputs.map(valueInfoFromSpec), ...initializerInputs],
    output: outputs.map(valueInfoFromSpec),
    valueInfo: g.valueInfo.filter(keepInfo),
    quantizationAnnotation: g.quantizationAnnotation,
    metadataProps: g.metadataProps,
  });
  return create(ModelProtoSchema, {
    irVersion: m.irVersion, opsetImport: m.opsetImport, producerName: m.producerName, producerVersion: m.producerVersion,
    domain: m.domain, modelVersion: m.modelVersion, docString: m.docString, metadataProps: m.metadataProps,
    functions: m.functions, trainingInfo: [], graph,
  });
}
