/**
 * Canonical JSON (docs/bundle-format.md §4.2): sorted keys, no whitespace, non-negative safe
 * integers, strings escaped as `JSON.stringify` does. One byte string per value, so a signed
 * header cannot be read two ways.
 */

/** A value canonical JSON can hold. */
export type CanonicalValue = string | number | CanonicalValue[] | { [key: string]: CanonicalValue | undefined };

/**
 * Serialises `value` canonically (§4.2); object members whose value is `undefined` are left
 * out. Throws TypeError for values the format does not allow (null, booleans, fractions,
 * negative or unsafe integers).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: ['x'] }); // '{"a":["x"],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || Object.is(value, -0)) throw new TypeError(`canonical JSON allows only non-negative safe integers, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold ${value === null ? 'null' : typeof value}`);
}

/**
 * Parses UTF-8 bytes that MUST be canonical JSON: throws SyntaxError if they are not UTF-8,
 * not JSON, or not byte-for-byte the canonical serialisation of what they parse to (duplicate
 * keys, whitespace, unsorted keys, `1.0`, `null`, … are all refused).
 *
 * @example
 * ```ts
 * parseCanonicalJson(new TextEncoder().encode('{"a":1}')); // { a: 1 }
 * ```
 */
export function parseCanonicalJson(bytes: Uint8Array): unknown {
  const text = parseJsonLoose(bytes);
  let again: string;
  try {
    again = canonicalJson(text.value);
  } catch (e) {
    throw new SyntaxError(`not canonical JSON: ${(e as Error).message}`);
  }
  if (again !== text.source) throw new SyntaxError('not canonical JSON (whitespace, key order, duplicate keys or number/string spelling)');
  return text.value;
}

/** UTF-8-decodes (fatally) and JSON-parses; throws SyntaxError. */
export function parseJsonLoose(bytes: Uint8Array): { source: string; value: unknown } {
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SyntaxError('not valid UTF-8');
  }
  try {
    return { source, value: JSON.parse(source) };
  } catch (e) {
    throw new SyntaxError(`not JSON: ${(e as Error).message}`);
  }
}
