import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, GraphProtoSchema, type ModelProto } from 'onnx-buf';
import { isErrorCode } from '../errors.ts';
import { attr, makeModel, node, tensor } from './build.ts';
import { cloneModel, loadModelFile } from './codec.ts';
import { GraphView } from './graph.ts';
import { valueInfoFromSpec } from './types.ts';
import { cnnModel, mlpModel, residualModel, seededRandom } from './models.testkit.ts';

const SHARED_ONNX = fileURLToPath(new URL('../../../shared/models/onnx', import.meta.url));

/** Asserts `order` is a topological order of the graph's nodes: each input exists before it is read. */
function assertTopological(view: GraphView): void {
  const g = view.graph;
  const known = new Set([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name)]);
  assert.equal(view.order.length, g.node.length);
  assert.equal(new Set(view.order).size, g.node.length, 'each node once');
  for (const n of view.order) {
    for (const i of n.input) if (i) assert.ok(known.has(i), `${n.name} reads ${i} before it is produced`);
    for (const o of n.output) known.add(o);
  }
}

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const r = seededRandom(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('a file already in order keeps its order; a shuffled node list is put in topological order', () => {
  for (const build of [mlpModel, cnnModel, residualModel]) {
    const model = build();
    const inOrder = new GraphView(model);
    assert.deepEqual(inOrder.order.map((n) => n.name), model.graph!.node.map((n) => n.name), 'stable for an ordered file');
    for (const seed of [1, 2, 3, 4, 5]) {
      const copy = cloneModel(model);
      copy.graph!.node = shuffled(copy.graph!.node, seed);
      const view = new GraphView(copy);
      assertTopological(view);
      if (build === mlpModel || build === cnnModel) {
        // A chain has exactly one topological order.
        assert.deepEqual(view.order.map((n) => n.name), model.graph!.node.map((n) => n.name));
      }
    }
  }
});

test('producer and consumers of every tensor, including a tensor read twice (the residual skip)', () => {
  const view = new GraphView(residualModel());
  const nameAt = (i: number | undefined) => (i === undefined ? undefined : view.order[i]!.name);
  assert.equal(nameAt(view.producer.get('s')), 'stem/MatMul');
  assert.deepEqual(view.consumers.get('s')!.map(nameAt), ['block_a/MatMul', 'add/Add']);
  assert.equal(view.producer.get('x'), undefined, 'a graph input has no producer');
  assert.deepEqual(view.consumers.get('x')!.map(nameAt), ['stem/MatMul']);
  assert.deepEqual(view.consumers.get('block/W1')!.map(nameAt), ['block_a/MatMul'], 'initializers have consumers too');
  assert.equal(view.consumers.get('y'), undefined, 'the graph output is read by no node');
  assert.equal(view.typeOf('block/W1')?.source, 'initializer');
  assert.deepEqual(view.typeOf('block/W1')?.shape, [8, 8]);
});

test('a subgraph reading an outer tensor makes its node a consumer, and orders after the producer', () => {
  const branch = (name: string, op: string) => create(GraphProtoSchema, {
    name,
    node: [node(op, ['h'], [`${name}_y`])],
    output: [valueInfoFromSpec({ name: `${name}_y`, dtype: 'float32', shape: ['batch', 2] })],
  });
  const ifNode = node('If', ['cond'], ['y'], {}, 'if');
  ifNode.attribute.push(create(AttributeProtoSchema, { name: 'then_branch', type: 5, g: branch('then', 'Relu') }));
  ifNode.attribute.push(create(AttributeProtoSchema, { name: 'else_branch', type: 5, g: branch('else', 'Neg') }));
  const model = makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 2] }, { name: 'cond', dtype: 'bool', shape: [] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    // The If comes first in the file, but reads h (inside its branches) which Sigmoid produces.
    nodes: [ifNode, node('Sigmoid', ['x'], ['h'], {}, 'sig')],
  });
  const view = new GraphView(model);
  assert.deepEqual(view.order.map((n) => n.name), ['sig', 'if']);
  assert.deepEqual(view.consumers.get('h')!.map((i) => view.order[i]!.name), ['if']);
});

test('IR 3 initializers listed as graph inputs are not real inputs (mnist-8 from CNTK)', { skip: !existsSync(SHARED_ONNX) && 'needs ../shared/models/onnx' }, () => {
  const model = loadModelFile(join(SHARED_ONNX, 'mnist-8_cntk.onnx'));
  assert.equal(model.irVersion, 3n);
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  assert.ok(g.input.filter((i) => inits.has(i.name)).length >= 4, 'the file lists its weights as inputs');
  const view = new GraphView(model);
  assert.deepEqual(view.inputs.map((i) => [i.name, i.dtype, i.shape]), [['Input3', 'float32', [1, 1, 28, 28]]]);
  assert.deepEqual(view.outputs.map((o) => o.shape), [[1, 10]]);
  assertTopological(view);
});

test('symbolic dimensions stay symbolic: made here and from PyTorch', { skip: !existsSync(SHARED_ONNX) && 'needs ../shared/models/onnx' }, () => {
  const mlp = new GraphView(mlpModel());
  assert.deepEqual(mlp.inputs[0]!.shape, ['batch', 16]);
  assert.deepEqual(mlp.outputs[0]!.shape, ['batch', 4]);
  const torch = new GraphView(loadModelFile(join(SHARED_ONNX, 'mnist_mlp_pytorch113_dynbatch.onnx')));
  assert.equal(typeof torch.inputs[0]!.shape[0], 'string');
  assert.deepEqual(torch.inputs[0]!.shape.slice(1), [784]);
  assert.equal(typeof torch.outputs[0]!.shape[0], 'string');
});

test('inferTypes fills missing intermediate types from ORT, marked ort-inferred; value_info types stay value-info', async () => {
  const model: ModelProto = cnnModel();
  model.graph!.valueInfo.push(valueInfoFromSpec({ name: 'p1', dtype: 'float32', shape: ['N', 4, 6, 6] }));
  const view = new GraphView(model);
  assert.deepEqual(view.untypedTensors(), ['c1', 'r1', 'f1', 'logits']);
  assert.equal(view.typeOf('c1'), undefined);
  assert.equal(view.typeOf('p1')?.source, 'value-info');
  assert.equal(view.typeOf('image')?.source, 'graph-input');
  assert.equal(view.typeOf('probs')?.source, 'graph-output');
  await view.inferTypes();
  assert.deepEqual(view.untypedTensors(), []);
  const c1 = view.typeOf('c1')!;
  assert.equal(c1.source, 'ort-inferred');
  assert.equal(c1.dtype, 'float32');
  assert.deepEqual(c1.shape.slice(1), [4, 12, 12]);
  assert.deepEqual(view.typeOf('f1')!.shape.slice(1), [144]);
  assert.equal(view.typeOf('logits')!.source, 'ort-inferred');
  assert.equal(view.typeOf('p1')!.source, 'value-info', 'a declared type is not overwritten');
});

test('a cycle, or an input nothing produces, is refused with ONNX_GRAPH', () => {
  const base = {
    inputs: [{ name: 'x', dtype: 'float32' as const, shape: [2] }],
    outputs: [{ name: 'b', dtype: 'float32' as const, shape: [2] }],
    initializers: [tensor('w', 'float32', [2], [1, 2])],
  };
  const cycle = makeModel({ ...base, nodes: [node('Add', ['x', 'b'], ['a'], {}, 'A'), node('Mul', ['a', 'w'], ['b'], {}, 'B')] });
  assert.throws(() => new GraphView(cycle), (e: unknown) => isErrorCode(e, 'ONNX_GRAPH') && /cycle/.test((e as Error).message));
  const selfLoop = makeModel({ ...base, nodes: [node('Add', ['x', 'b'], ['b'], {}, 'A')] });
  assert.throws(() => new GraphView(selfLoop), (e: unknown) => isErrorCode(e, 'ONNX_GRAPH') && /cycle/.test((e as Error).message));
  const dangling = makeModel({ ...base, nodes: [node('Add', ['x', 'ghost'], ['b'], { unused: attr.int(1) }, 'A')] });
  assert.throws(() => new GraphView(dangling), (e: unknown) => isErrorCode(e, 'ONNX_GRAPH') && /'A' reads 'ghost'/.test((e as Error).message));
});
