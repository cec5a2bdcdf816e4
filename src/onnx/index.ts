/** The ONNX core: codec, graph view, builder, ORT helpers. */
export { decodeModel, encodeModel, cloneModel, loadModelFile, allTensors, type ModelProto, type GraphProto, type TensorProto } from './codec.ts';
export { GraphView, nodeInputs, type TypedTensor, type TypeSource } from './graph.ts';
export { attr, node, tensor, makeModel, type AttrValue, type MakeModelOptions } from './build.ts';
export { specFromValueInfo, valueInfoFromSpec } from './types.ts';
export { runOnnx, randomFeeds, maxAbsDiff, concreteDims, toOrtFeeds, fromOrtResults, type TensorData } from './ort.ts';
export * from './tensor-spec.ts';
export { tensorFromProto, tensorToProto, decodeTensorFile, type AnyTensorData, type StringTensorData, type TensorFile } from './tensor-proto.ts';
