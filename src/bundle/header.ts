import { DTYPE_SIZE, type TensorSpec } from '../onnx/tensor-spec.ts';
import { canonicalJson, parseCanonicalJson } from '../util/canonical-json.ts';
import {
  BUNDLE_FORMAT_VERSION, MAX_CHUNK_SIZE, MAX_HEADER_SIZE, MAX_PADDED_SIZE, MIN_CHUNK_SIZE, MIN_PADDED_SIZE, TAIL_AEAD, bundleError,
} from './format.ts';
import type { BundleHeader, EnclavePolicy, SealedTailParams } from './types.ts';

/**
 * Encodes a header as canonical JSON bytes (docs/bundle-format.md §4.2) after validating it
 * (§4.3); throws TypeError/RangeError naming the bad field.
 */
export function encodeHeader(header: BundleHeader): Uint8Array {
  validateHeader(header, (why) => new TypeError(`Cannot encode bundle header: ${why}`));
  const bytes = new TextEncoder().encode(canonicalJson(header));
  if (bytes.byteLength > MAX_HEADER_SIZE) throw new RangeError(`Cannot encode bundle header: ${bytes.byteLength} bytes exceeds ${MAX_HEADER_SIZE}`);
  return bytes;
}

/**
 * Parses and validates header bytes (§4.2–§4.5, §5.4; §7 row 7). Does not check the signature.
 * Throws `BUNDLE_HEADER` naming the problem.
 */
export function decodeHeader(bytes: Uint8Array, source: string): BundleHeader {
  let value: unknown;
  try {
    value = parseCanonicalJson(bytes);
  } catch (e) {
    throw bundleError('BUNDLE_HEADER', source, `header is ${(e as Error).message}`);
  }
  validateHeader(value, (why) => bundleError('BUNDLE_HEADER', source, why.startsWith('header ') ? why : `header ${why}`));
  return value as BundleHeader;
}

type Fail = (why: string) => Error;

const HEX = /^(?:[0-9a-f]{2})+$/;
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const KIND = /^[a-z0-9][a-z0-9-]{0,31}$/;
// No control characters in header strings: `bundle info` prints them to terminals (§4.3).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fields(v: unknown, what: string, required: string[], optional: string[], fail: Fail): Record<string, unknown> {
  if (!isObject(v)) throw fail(`${what} is not an object`);
  for (const k of Object.keys(v)) {
    if (v[k] === undefined) continue;
    if (!required.includes(k) && !optional.includes(k)) throw fail(`${what} has an unknown field '${k}'`);
  }
  for (const k of required) if (v[k] === undefined) throw fail(`${what} lacks the field '${k}'`);
  return v;
}

function hex(v: unknown, what: string, fail: Fail, size?: number, maxSize = 1 << 20): string {
  if (typeof v !== 'string' || !HEX.test(v)) throw fail(`${what} is not lowercase hex`);
  if (size !== undefined && v.length !== 2 * size) throw fail(`${what} is not ${size} bytes`);
  if (v.length > 2 * maxSize) throw fail(`${what} is longer than ${maxSize} bytes`);
  return v;
}

function int(v: unknown, what: string, fail: Fail, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw fail(`${what} is not an integer in ${min}..${max}`);
  return v;
}

function tensorSpecs(v: unknown, what: string, fail: Fail): TensorSpec[] {
  if (!Array.isArray(v) || v.length === 0) throw fail(`${what} is not a non-empty list`);
  const names = new Set<string>();
  v.forEach((t, i) => {
    const w = `${what}[${i}]`;
    const o = fields(t, w, ['name', 'dtype', 'shape'], [], fail);
    if (typeof o.name !== 'string' || o.name.length < 1 || o.name.length > 1024 || CONTROL.test(o.name)) throw fail(`${w}.name is not a string of 1..1024 characters without control characters`);
    if (names.has(o.name)) throw fail(`${what} names '${o.name}' twice`);
    names.add(o.name);
    if (typeof o.dtype !== 'string' || !Object.hasOwn(DTYPE_SIZE, o.dtype)) throw fail(`${w}.dtype '${String(o.dtype)}' is not a known dtype`);
    if (!Array.isArray(o.shape)) throw fail(`${w}.shape is not a list`);
    o.shape.forEach((d, j) => {
      if (typeof d === 'string' ? d.length < 1 || d.length > 64 || CONTROL.test(d) : !(typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
        throw fail(`${w}.shape[${j}] is neither a size nor a dimension name`);
      }
    });
  });
  return v as TensorSpec[];
}

/** Validates a policy (§4.5); `fail` builds the error. */
export function validatePolicy(v: unknown, fail: Fail): EnclavePolicy {
  const p = fields(v, 'policy', ['platforms'], [], fail);
  if (!Array.isArray(p.platforms) || p.platforms.length === 0) throw fail('policy.platforms is not a non-empty list');
  const kinds = new Set<string>();
  p.platforms.forEach((e, i) => {
    const w = `policy.platforms[${i}]`;
    const o = fields(e, w, ['kind', 'measurements'], ['mrSigners', 'minIsvSvn'], fail);
    if (typeof o.kind !== 'string' || !KIND.test(o.kind)) throw fail(`${w}.kind is not a platform kind`);
    if (kinds.has(o.kind)) throw fail(`policy lists platform '${o.kind}' twice`);
    kinds.add(o.kind);
    if (!Array.isArray(o.measurements)) throw fail(`${w}.measurements is not a list`);
    const seen = new Set<string>();
    o.measurements.forEach((m, j) => {
      hex(m, `${w}.measurements[${j}]`, fail, undefined, 64);
      if (seen.has(m as string)) throw fail(`${w} lists measurement ${m as string} twice`);
      seen.add(m as string);
    });
    if (o.mrSigners !== undefined) {
      if (!Array.isArray(o.mrSigners) || o.mrSigners.length === 0) throw fail(`${w}.mrSigners is not a non-empty list`);
      o.mrSigners.forEach((m, j) => hex(m, `${w}.mrSigners[${j}]`, fail, 32));
      if (new Set(o.mrSigners).size !== o.mrSigners.length) throw fail(`${w} lists an MRSIGNER twice`);
    }
    if (o.minIsvSvn !== undefined) int(o.minIsvSvn, `${w}.minIsvSvn`, fail, 0, 0xffff);
  });
  return v as EnclavePolicy;
}

function tailParams(v: unknown, fail: Fail): SealedTailParams {
  const t = fields(v, 'tail', ['aead', 'chunkSize', 'chunkCount', 'paddedSize', 'noncePrefix', 'keyCommitment'], [], fail);
  if (t.aead !== TAIL_AEAD) throw fail(`tail.aead is not '${TAIL_AEAD}'`);
  const chunkSize = int(t.chunkSize, 'tail.chunkSize', fail, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  const paddedSize = int(t.paddedSize, 'tail.paddedSize', fail, MIN_PADDED_SIZE, MAX_PADDED_SIZE);
  const chunkCount = int(t.chunkCount, 'tail.chunkCount', fail, 1);
  if (chunkCount !== Math.ceil(paddedSize / chunkSize)) throw fail(`tail.chunkCount ${chunkCount} is not ceil(paddedSize / chunkSize) = ${Math.ceil(paddedSize / chunkSize)}`);
  hex(t.noncePrefix, 'tail.noncePrefix', fail, 7);
  hex(t.keyCommitment, 'tail.keyCommitment', fail, 32);
  return v as SealedTailParams;
}

/** Validates every header field (§4.3); `fail` builds the error. */
function validateHeader(v: unknown, fail: Fail): asserts v is BundleHeader {
  const h = fields(v, 'header', ['formatVersion', 'modelId', 'providerKey', 'headInputs', 'inputs', 'outputs', 'head', 'tail', 'policy'], ['licenseServer'], fail);
  if (h.formatVersion !== BUNDLE_FORMAT_VERSION) throw fail(`formatVersion ${String(h.formatVersion)} is not the file's version ${BUNDLE_FORMAT_VERSION}`);
  if (typeof h.modelId !== 'string' || !MODEL_ID.test(h.modelId)) throw fail('modelId is not 1..128 characters of [A-Za-z0-9._:-]');
  hex(h.providerKey, 'providerKey', fail, 32);
  tensorSpecs(h.headInputs, 'headInputs', fail);
  tensorSpecs(h.inputs, 'inputs', fail);
  tensorSpecs(h.outputs, 'outputs', fail);
  const head = fields(h.head, 'head', ['sha256', 'size'], [], fail);
  hex(head.sha256, 'head.sha256', fail, 32);
  int(head.size, 'head.size', fail);
  tailParams(h.tail, fail);
  validatePolicy(h.policy, fail);
  if (h.licenseServer !== undefined) {
    let ok = false;
    if (typeof h.licenseServer === 'string' && h.licenseServer.length <= 2048 && !CONTROL.test(h.licenseServer)) {
      try {
        ok = ['http:', 'https:'].includes(new URL(h.licenseServer).protocol);
      } catch { ok = false; }
    }
    if (!ok) throw fail('licenseServer is not an http(s) URL of at most 2048 characters');
  }
}
