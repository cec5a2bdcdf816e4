import type { NodeProto, TensorProto } from 'onnx-buf';
import { node as makeNode, tensor, type AttrValue } from '../onnx/build.ts';
import type { ConvertContext, KerasFlavor, KerasLayer } from './types.ts';

/**
 * The graph being built: nodes in emission order (a topological order), initializers, and the
 * names in use. One {@link LayerContext} per converted layer call writes into it.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();

  constructor(readonly flavor: KerasFlavor) {}

  /** Reserves `base`, or `base_2`, `base_3`, … when taken. */
  unique(base: string, pool: Set<string> = this.names): string {
    let name = base;
    for (let i = 2; pool.has(name); i++) name = `${base}_${i}`;
    pool.add(name);
    return name;
  }

  /** Reserves a node name. */
  uniqueNode(base: string): string {
    return this.unique(base, this.nodeNames);
  }

  /** Whether a tensor name is in use. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** A context for one call of `layer`. */
  context(layer: KerasLayer): ConvertContext {
    return new LayerContext(this, layer);
  }

  /** Renames a tensor everywhere (node inputs and outputs); used to give graph outputs Keras names. */
  rename(from: string, to: string): void {
    for (const n of this.nodes) {
      n.input = n.input.map((x) => (x === from ? to : x));
      n.output = n.output.map((x) => (x === from ? to : x));
    }
    this.names.add(to);
  }
}

/** {@link ConvertContext} for one layer call: every name it makes is `<layer>/<part>`. */
class LayerContext implements ConvertContext {
  readonly flavor: KerasFlavor;
  constructor(private readonly g: GraphBuilder, readonly layer: KerasLayer) {
    this.flavor = g.flavor;
  }

  fresh(hint: string): string {
    return this.g.unique(`${this.layer.name}/${hint}`);
  }

  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, options: { outputs?: string[] | number; name?: string; domain?: string } = {}): string[] {
    const name = this.g.uniqueNode(`${this.layer.name}/${options.name ?? opType}`);
    const count = typeof options.outputs === 'number' ? options.outputs : 1;
    const outs = Array.isArray(options.outputs) ? options.outputs
      : Array.from({ length: count }, (_, i) => this.fresh(`${options.name ?? opType}${count > 1 ? `_${i}` : ''}`));
    this.g.nodes.push(makeNode(opType, inputs, outs, attrs, name, options.domain ?? ''));
    return outs;
  }

  weight(name: string, dims: number[], data: Float32Array): string {
    const full = this.fresh(name);
    this.g.initializers.push(tensor(full, 'float32', dims, data));
    return full;
  }

  int64(name: string, values: number[], dims: number[] = [values.length]): string {
    const full = this.fresh(name);
    this.g.initializers.push(tensor(full, 'int64', dims, values));
    return full;
  }

  float(name: string, values: number[], dims: number[] = [values.length]): string {
    const full = this.fresh(name);
    this.g.initializers.push(tensor(full, 'float32', dims, Float32Array.from(values)));
    return full;
  }
}
