import { create } from '@bufbuild/protobuf';
import {
  TypeProtoSchema, TypeProto_TensorSchema, TensorShapeProtoSchema, TensorShapeProto_DimensionSchema,
  ValueInfoProtoSchema, type TypeProto, type ValueInfoProto,
} from 'onnx-buf';
import { DTYPE_BY_ONNX, ONNX_BY_DTYPE, type Dim, type DType, type TensorSpec } from './tensor-spec.ts';

/**
 * Reads a ValueInfoProto's tensor type as a TensorSpec; `undefined` when it has no tensor type
 * (missing, or a sequence/map/optional). A dimension with neither value nor name becomes '?'.
 */
export function specFromValueInfo(vi: ValueInfoProto): TensorSpec | undefined {
  return specFromType(vi.name, vi.type);
}

/** As {@link specFromValueInfo}, from a name and a TypeProto. */
export function specFromType(name: string, type: TypeProto | undefined): TensorSpec | undefined {
  if (!type || type.value.case !== 'tensorType') return undefined;
  const t = type.value.value;
  const dtype = DTYPE_BY_ONNX[t.elemType];
  if (!dtype) return undefined;
  // No shape at all is "rank unknown"; we report it as an empty-but-unknown shape via '?'.
  const shape: Dim[] = t.shape
    ? t.shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' && d.value.value ? d.value.value : '?'))
    : ['?*'];
  return { name, dtype, shape };
}

/** Builds a ValueInfoProto from a TensorSpec (string dimensions become dim_param). */
export function valueInfoFromSpec(spec: TensorSpec): ValueInfoProto {
  const tensor = create(TypeProto_TensorSchema, {
    elemType: ONNX_BY_DTYPE[spec.dtype],
    shape: spec.shape[0] === '?*' ? undefined : create(TensorShapeProtoSchema, {
      dim: spec.shape.map((d) => create(TensorShapeProto_DimensionSchema, {
        value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : d === '?' ? { case: undefined } : { case: 'dimParam', value: d },
      })),
    }),
  });
  return create(ValueInfoProtoSchema, { name: spec.name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensor } }) });
}

/** Whether every dimension of a spec is known (a number, or a named dynamic dimension). */
export function isFullyKnown(spec: TensorSpec): boolean {
  return spec.shape.every((d) => typeof d === 'number' || (d !== '?' && d !== '?*'));
}

/** Maps a dtype name to its ONNX code; undefined for unknown names. */
export function onnxTypeOf(dtype: DType): number {
  return ONNX_BY_DTYPE[dtype];
}
