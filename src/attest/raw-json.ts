/**
 * Finds the exact text of a top-level member's value in a JSON object, without re-serialising:
 * Intel signs the bytes of the `tcbInfo` / `enclaveIdentity` value as they appear in the
 * response body, so the signed bytes must be cut out, not rebuilt (docs/attestation.md §5.1).
 */

/** Thrown for JSON that is not an object or lacks the member. */
export class RawJsonError extends SyntaxError {
  override readonly name = 'RawJsonError';
}

const WS = new Set([' ', '\t', '\n', '\r']);

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s[i]!)) i++;
  return i;
}

function skipString(s: string, i: number): number {
  if (s[i] !== '"') throw new RawJsonError(`expected a string at ${i}`);
  for (i++; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i + 1;
  }
  throw new RawJsonError('unterminated string');
}

function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '"') i = skipString(s, i) - 1;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw new RawJsonError('unterminated object or array');
  }
  const m = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(i, i + 64));
  if (!m) throw new RawJsonError(`unexpected character at ${i}`);
  return i + m[0].length;
}

/**
 * The raw text of member `key` of the top-level JSON object `text`. The whole text must also
 * be valid JSON (checked with JSON.parse) so that the cut is unambiguous.
 *
 * @example
 * ```ts
 * rawJsonMember('{"tcbInfo":{"id":"SGX"},"signature":"ab"}', 'tcbInfo') // '{"id":"SGX"}'
 * ```
 */
export function rawJsonMember(text: string, key: string): string {
  JSON.parse(text);
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new RawJsonError('not a JSON object');
  i = skipWs(text, i + 1);
  let found: string | undefined;
  while (text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const k = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new RawJsonError(`expected ':' at ${i}`);
    i = skipWs(text, i + 1);
    const end = skipValue(text, i);
    if (k === key) {
      if (found !== undefined) throw new RawJsonError(`member ${key} appears twice`);
      found = text.slice(i, end);
    }
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
    else if (text[i] !== '}') throw new RawJsonError(`expected ',' or '}' at ${i}`);
  }
  if (found === undefined) throw new RawJsonError(`member ${key} is absent`);
  return found;
}
