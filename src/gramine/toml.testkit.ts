/**
 * Test helpers for the Gramine manifest (not part of any program): a parser for the TOML subset
 * `renderManifest` writes, and Gramine's manifest schema per release, transcribed from
 * `python/graminelibos/manifest_check.py` at the tags v1.7, v1.8 and v1.9 of gramineproject/gramine
 * (only the keys and types; `gramine-manifest --check` runs the same schema with voluptuous).
 */
import type { GramineVersion } from './manifest.ts';

/** A TOML value of the subset: string, integer, boolean, array, table. */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
/** A TOML table. */
export interface TomlTable { [key: string]: TomlValue }

/**
 * Parses the subset of TOML 1.0 a manifest template uses: `#` comments, dotted keys,
 * `key = value` lines, basic strings (JSON escapes), integers, booleans, arrays (multi-line,
 * trailing comma, comments) and inline tables. Throws SyntaxError with the line on anything else,
 * and on a key defined twice.
 */
export function parseTomlSubset(text: string): TomlTable {
  const root: TomlTable = {};
  let i = 0;
  const line = () => text.slice(0, i).split('\n').length;
  const fail = (what: string): never => { throw new SyntaxError(`TOML line ${line()}: ${what}`); };
  const skip = (newlines: boolean) => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || (newlines && (c === '\n' || c === '\r'))) i++;
      else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
      else return;
    }
  };
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skip(false);
      if (text[i] === '"') parts.push(str());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i));
        if (!m) fail('expected a key');
        parts.push(m![0]);
        i += m![0].length;
      }
      skip(false);
      if (text[i] !== '.') return parts;
      i++;
    }
  };
  const str = (): string => {
    const m = /^"(?:[^"\\\n]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4})*"/.exec(text.slice(i));
    if (!m) fail('expected a basic string');
    i += m![0].length;
    return JSON.parse(m![0]) as string;
  };
  const value = (): TomlValue => {
    skip(false);
    const c = text[i];
    if (c === '"') return str();
    if (c === '[') {
      i++;
      const out: TomlValue[] = [];
      for (;;) {
        skip(true);
        if (text[i] === ']') { i++; return out; }
        out.push(value());
        skip(true);
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail('expected , or ] in an array');
      }
    }
    if (c === '{') {
      i++;
      const t: TomlTable = {};
      skip(false);
      if (text[i] === '}') { i++; return t; }
      for (;;) {
        const k = key();
        if (text[i] !== '=') fail('expected = in an inline table');
        i++;
        assign(t, k, value());
        skip(false);
        if (text[i] === '}') { i++; return t; }
        if (text[i] !== ',') fail('expected , or } in an inline table');
        i++;
      }
    }
    const m = /^(true|false|[+-]?(?:0|[1-9][0-9]*))(?=[\s,\]}#]|$)/.exec(text.slice(i));
    if (!m) fail('expected a value');
    i += m![0].length;
    return m![1] === 'true' ? true : m![1] === 'false' ? false : Number(m![1]);
  };
  const assign = (table: TomlTable, k: string[], v: TomlValue) => {
    let t = table;
    for (const part of k.slice(0, -1)) {
      const next = t[part] ??= {};
      if (typeof next !== 'object' || Array.isArray(next)) fail(`key ${k.join('.')} extends a non-table`);
      t = next as TomlTable;
    }
    const last = k[k.length - 1]!;
    if (Object.hasOwn(t, last)) fail(`key ${k.join('.')} is defined twice`);
    t[last] = v;
  };
  for (;;) {
    skip(true);
    if (i >= text.length) return root;
    if (text[i] === '[') fail('table headers are outside the subset');
    const k = key();
    if (text[i] !== '=') fail('expected =');
    i++;
    assign(root, k, value());
    skip(false);
    if (i < text.length && text[i] !== '\n' && text[i] !== '\r') fail('expected the end of the line');
  }
}

/** A schema node: a type name, a list of allowed literal values, a list schema, or a table schema. */
type Schema = 'string' | 'integer' | 'boolean' | { oneOf: TomlValue[] } | { listOf: Schema } | { table: Record<string, Schema>; required?: string[]; anyKey?: Schema } | { anyOf: Schema[] };

const fsMount: Schema = {
  anyOf: [
    { table: { type: { oneOf: ['chroot'] }, uri: 'string', path: 'string' }, required: ['uri', 'path'] },
    { table: { type: { oneOf: ['tmpfs'] }, uri: 'string', path: 'string' }, required: ['type', 'path'] },
    { table: { type: { oneOf: ['encrypted'] }, uri: 'string', path: 'string', key_name: 'string' }, required: ['type', 'uri', 'path'] },
  ],
};

/** The part of Gramine's manifest schema (manifest_check.py) that our keys fall in, per release. */
export function gramineSchema(version: GramineVersion): Schema {
  const env: Schema = { table: {}, anyKey: { anyOf: ['string', { table: { value: 'string' }, required: ['value'] }, { table: { passthrough: { oneOf: [true] } }, required: ['passthrough'] }] } };
  return {
    table: {
      fs: { table: { mounts: { listOf: fsMount }, start_dir: 'string' }, required: ['mounts'] },
      libos: { table: { entrypoint: 'string', check_invalid_pointers: 'boolean' }, required: ['entrypoint'] },
      loader: {
        table: {
          // v1.7: `Required('entrypoint'): str`; v1.8: a table (the string still read, with a
          // deprecation warning, by gramine-manifest); v1.9: `{Required('uri'): _uri, 'sha256': str}` only.
          entrypoint: version === '1.7' ? 'string' : { table: { uri: 'string', sha256: 'string' }, required: ['uri'] },
          argv: { listOf: 'string' }, env, log_level: { oneOf: ['none', 'error', 'warning', 'debug', 'trace', 'all'] },
          uid: 'integer', gid: 'integer',
        },
        required: ['entrypoint'],
      },
      sgx: {
        table: {
          debug: 'boolean', edmm_enable: 'boolean', enclave_size: 'string', isvprodid: 'integer', isvsvn: 'integer', max_threads: 'integer',
          remote_attestation: { oneOf: version === '1.9' ? ['none', 'dcap'] : ['none', 'dcap', 'epid'] },
          trusted_files: { listOf: { anyOf: ['string', { table: { uri: 'string', sha256: 'string' }, required: ['uri'] }] } },
        },
      },
    },
    required: ['fs', 'libos', 'loader'],
  };
}

/**
 * Checks `v` against `schema`; returns the problems (`path: what`), empty when it conforms. Unknown
 * keys are problems, as for `gramine-manifest --check`.
 */
export function checkSchema(v: TomlValue, schema: Schema, path = ''): string[] {
  if (schema === 'string') return typeof v === 'string' ? [] : [`${path}: not a string`];
  if (schema === 'integer') return Number.isInteger(v) ? [] : [`${path}: not an integer`];
  if (schema === 'boolean') return typeof v === 'boolean' ? [] : [`${path}: not a boolean`];
  if ('oneOf' in schema) return schema.oneOf.includes(v as never) ? [] : [`${path}: ${JSON.stringify(v)} is not one of ${JSON.stringify(schema.oneOf)}`];
  if ('anyOf' in schema) return schema.anyOf.some((s) => checkSchema(v, s, path).length === 0) ? [] : [`${path}: matches none of the allowed forms`];
  if ('listOf' in schema) return Array.isArray(v) ? v.flatMap((e, j) => checkSchema(e, schema.listOf, `${path}[${j}]`)) : [`${path}: not a list`];
  if (typeof v !== 'object' || Array.isArray(v)) return [`${path}: not a table`];
  const out = (schema.required ?? []).filter((k) => !Object.hasOwn(v, k)).map((k) => `${path}.${k}: missing`);
  for (const [k, e] of Object.entries(v)) {
    const s = Object.hasOwn(schema.table, k) ? schema.table[k] : schema.anyKey;
    out.push(...(s ? checkSchema(e, s, path ? `${path}.${k}` : k) : [`${path ? path + '.' : ''}${k}: unknown key`]));
  }
  return out;
}
