import type { GraphProto, ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';
import { DTYPE_BY_ONNX, type TensorSpec } from './tensor-spec.ts';
import { specFromValueInfo } from './types.ts';

/** Where a tensor's type came from: the model file, or ONNX Runtime's shape inference. */
export type TypeSource = 'graph-input' | 'graph-output' | 'initializer' | 'value-info' | 'ort-inferred';

/** A tensor's spec together with where it came from. */
export interface TypedTensor extends TensorSpec {
  source: TypeSource;
}

/**
 * A read-only view of a model's main graph: topological order, producer and consumers of every
 * tensor, initializers, inputs and outputs, and each tensor's dtype and shape.
 *
 * Types missing from the file are filled by {@link GraphView.inferTypes} (ONNX Runtime's shape
 * inference); `typeOf()` says which source each type came from.
 */
export class GraphView {
  readonly model: ModelProto;
  readonly graph: GraphProto;
  /** Nodes in a topological order (stable: the file's order where it is already valid). */
  readonly order: readonly NodeProto[];
  /** Initializer by name. */
  readonly initializers: ReadonlyMap<string, TensorProto>;
  /** The graph inputs that are real inputs (not initializers listed as inputs, as IR < 4 does). */
  readonly inputs: readonly TensorSpec[];
  /** The graph outputs. */
  readonly outputs: readonly TensorSpec[];
  /** Index in `order` of the node producing each tensor. */
  readonly producer: ReadonlyMap<string, number>;
  /** Indices in `order` of the nodes consuming each tensor (including uses inside subgraphs). */
  readonly consumers: ReadonlyMap<string, readonly number[]>;
  /**
   * Tensors computed from weights alone (no model input reaches them), e.g. a Reshape of a
   * weight. They are as private as the weights they come from, so their nodes are placed right
   * before their first consumer and belong to its layer.
   */
  readonly constants: ReadonlySet<string>;
  private readonly types = new Map<string, TypedTensor>();

  constructor(model: ModelProto) {
    if (!model.graph) throw new EnclaveNnError('ONNX_GRAPH', 'Cannot read model: it has no graph');
    this.model = model;
    this.graph = model.graph;
    const g = model.graph;
    this.initializers = new Map(g.initializer.map((t) => [t.name, t]));
    for (const t of g.initializer) {
      const dtype = DTYPE_BY_ONNX[t.dataType];
      if (dtype) this.types.set(t.name, { name: t.name, dtype, shape: t.dims.map(Number), source: 'initializer' });
    }
    for (const vi of g.valueInfo) this.record(specFromValueInfo(vi), 'value-info');
    for (const vi of g.output) this.record(specFromValueInfo(vi), 'graph-output');
    for (const vi of g.input) this.record(specFromValueInfo(vi), 'graph-input');
    this.inputs = g.input.filter((i) => !this.initializers.has(i.name)).map((i) => this.types.get(i.name) ?? { name: i.name, dtype: 'float32', shape: ['?*'] });
    const { order, constants } = topologicalOrder(g, this.initializers);
    this.order = order;
    this.constants = constants;
    const producer = new Map<string, number>();
    const consumers = new Map<string, number[]>();
    this.order.forEach((n, i) => {
      for (const o of n.output) if (o) producer.set(o, i);
      for (const name of nodeInputs(n)) {
        const list = consumers.get(name) ?? [];
        if (list[list.length - 1] !== i) list.push(i);
        consumers.set(name, list);
      }
    });
    this.producer = producer;
    this.consumers = consumers;
    this.outputs = g.output.map((o) => this.types.get(o.name) ?? { name: o.name, dtype: 'float32', shape: ['?*'] });
  }

  private record(spec: TensorSpec | undefined, source: TypeSource): void {
    if (spec) this.types.set(spec.name, { ...spec, source });
  }

  /** The dtype and shape of a tensor, with their source; undefined when unknown (see inferTypes). */
  typeOf(name: string): TypedTensor | undefined {
    return this.types.get(name);
  }

  /** Names of tensors produced by nodes whose type the file does not give. */
  untypedTensors(): string[] {
    return this.order.flatMap((n) => n.output.filter((o) => o && !this.types.has(o)));
  }

  /**
   * Fills in the types of intermediate tensors that the file does not declare, by asking ONNX
   * Runtime's shape inference (every such tensor made a graph output of a throwaway copy).
   * Types found this way are marked `ort-inferred`.
   */
  async inferTypes(): Promise<void> {
    const missing = this.untypedTensors();
    if (missing.length === 0) return;
    const { inferTensorTypes } = await import('./infer-types.ts');
    const found = await inferTensorTypes(this.model, missing);
    for (const spec of found) this.types.set(spec.name, { ...spec, source: 'ort-inferred' });
  }
}

/** Names a node reads: its inputs plus tensors its subgraphs use from the enclosing scope. */
export function nodeInputs(node: NodeProto): string[] {
  const names = node.input.filter((x) => x !== '');
  for (const a of node.attribute) {
    for (const g of [a.g, ...a.graphs]) if (g) names.push(...outerScopeNames(g));
  }
  return [...new Set(names)];
}

/** Tensors a subgraph reads that it neither produces, takes as input, nor holds as initializer. */
function outerScopeNames(g: GraphProto): string[] {
  const local = new Set<string>([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name)]);
  for (const n of g.node) for (const o of n.output) local.add(o);
  const out: string[] = [];
  for (const n of g.node) for (const i of nodeInputs(n)) if (!local.has(i)) out.push(i);
  return out;
}

/**
 * Kahn's algorithm, taking nodes in file order whenever several are ready, so a file already in
 * topological order keeps its order. Throws ONNX_GRAPH on a cycle or an undefined input.
 */
function topologicalOrder(g: GraphProto, initializers: ReadonlyMap<string, TensorProto>): { order: NodeProto[]; constants: Set<string> } {
  const available = new Set<string>([...g.input.map((i) => i.name), ...initializers.keys()]);
  const producerOf = new Map<string, number>();
  g.node.forEach((n, i) => n.output.forEach((o) => o && producerOf.set(o, i)));
  const pending = g.node.map((n) => nodeInputs(n).filter((x) => !available.has(x)));
  for (const [i, deps] of pending.entries()) {
    for (const d of deps) {
      if (!producerOf.has(d)) throw new EnclaveNnError('ONNX_GRAPH', `Cannot order graph: node '${g.node[i]!.name || g.node[i]!.opType}' reads '${d}', which nothing produces`);
    }
  }
  const done = new Array<boolean>(g.node.length).fill(false);
  const order: NodeProto[] = [];
  const produced = new Set<string>();
  let progress = true;
  while (order.length < g.node.length && progress) {
    progress = false;
    for (let i = 0; i < g.node.length; i++) {
      if (done[i] || !pending[i]!.every((d) => produced.has(d))) continue;
      done[i] = true;
      order.push(g.node[i]!);
      for (const o of g.node[i]!.output) if (o) produced.add(o);
      progress = true;
    }
  }
  if (order.length < g.node.length) throw new EnclaveNnError('ONNX_GRAPH', 'Cannot order graph: it has a cycle');
  return deferConstantNodes(order, g, initializers);
}

/**
 * Moves every node that depends on weights only to just before its first consumer (a weight
 * Reshape at the top of a file would otherwise land in the public head while the layer using it
 * is private). Returns the new order and the set of weight-derived tensors.
 */
function deferConstantNodes(order: NodeProto[], g: GraphProto, initializers: ReadonlyMap<string, TensorProto>): { order: NodeProto[]; constants: Set<string> } {
  const inputs = new Set(g.input.map((i) => i.name).filter((n) => !initializers.has(n)));
  const constants = new Set<string>();
  const isConst = order.map((n) => {
    const c = nodeInputs(n).every((x) => initializers.has(x) && !inputs.has(x) || constants.has(x));
    if (c) for (const o of n.output) if (o) constants.add(o);
    return c;
  });
  let result = order.filter((_, i) => !isConst[i]);
  // Insert constant nodes last-first, each before its first consumer (or at the end when only a
  // graph output or nothing reads it), so chains of constant nodes stay in dependency order.
  for (let i = order.length - 1; i >= 0; i--) {
    if (!isConst[i]) continue;
    const n = order[i]!;
    const outs = new Set(n.output);
    let at = result.findIndex((m) => nodeInputs(m).some((x) => outs.has(x)));
    if (at < 0) at = result.length;
    result = [...result.slice(0, at), n, ...result.slice(at)];
  }
  return { order: result, constants };
}
