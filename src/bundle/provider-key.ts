import { readFile } from 'node:fs/promises';
import { ed25519PublicKeyOf, timingSafeEqual, zeroize } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { writeFileAtomic } from './file.ts';
import type { ProviderKey } from './types.ts';

const FORMAT = 'enclave-nn-provider-key';
const VERSION = 1;

/**
 * Encodes a provider key file (docs/bundle-format.md §8): JSON with base64 keys and a
 * `warning` that it is secret.
 *
 * @example
 * ```ts
 * const json = encodeProviderKeyFile(providerKey); // bytes; keep them secret
 * ```
 */
export function encodeProviderKeyFile(k: ProviderKey): Uint8Array {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const doc = {
    format: FORMAT,
    version: VERSION,
    warning: `SECRET. This file holds the model key and the provider signing key of model ${k.modelId}: `
      + 'anyone who has it can decrypt the private part of the model and sign bundles. Keep it '
      + 'private (mode 0600), back it up offline, never ship it with the bundle.',
    modelId: k.modelId,
    modelKey: b64(k.modelKey),
    signingKey: b64(k.signingKey),
    signingPublicKey: b64(k.signingPublicKey),
  };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + '\n');
}

/**
 * Decodes and checks a provider key file (§8). Throws `EnclaveNnError('PROVIDER_KEY')`
 * naming `source`; the message never contains key material.
 *
 * @example
 * ```ts
 * const k = decodeProviderKeyFile(await readFile('model.enn.key'), 'model.enn.key');
 * ```
 */
export function decodeProviderKeyFile(bytes: Uint8Array, source = '<bytes>'): ProviderKey {
  const fail = (why: string) => new EnclaveNnError('PROVIDER_KEY', `Cannot read provider key file ${source}: ${why}`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  } catch {
    throw fail('not JSON'); // no cause: a parse error could quote key material
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT) throw fail(`not a provider key file (format is not '${FORMAT}')`);
  if (doc.version !== VERSION) throw fail(`version ${String(doc.version)} is not supported`);
  if (typeof doc.modelId !== 'string' || doc.modelId === '') throw fail('modelId is missing');
  const key = (field: string): Uint8Array => {
    const v = doc[field];
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(v)) throw fail(`${field} is not 32 bytes of base64`);
    return new Uint8Array(Buffer.from(v, 'base64'));
  };
  const k: ProviderKey = { modelId: doc.modelId, modelKey: key('modelKey'), signingKey: key('signingKey'), signingPublicKey: key('signingPublicKey') };
  if (!timingSafeEqual(ed25519PublicKeyOf(k.signingKey), k.signingPublicKey)) throw fail('signingPublicKey is not the public key of signingKey');
  return k;
}

/**
 * Writes a provider key file with mode 0600, atomically (temporary file in the same
 * directory, then rename; §8). Overwrites an existing file.
 *
 * @example
 * ```ts
 * await writeProviderKeyFile('model.enn.key', providerKey);
 * ```
 */
export async function writeProviderKeyFile(path: string, k: ProviderKey): Promise<void> {
  const bytes = encodeProviderKeyFile(k);
  try {
    await writeFileAtomic(path, bytes, 0o600);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Reads and checks a provider key file (§8); the raw file bytes are wiped after decoding.
 * Throws `EnclaveNnError('PROVIDER_KEY')` naming `path`.
 *
 * @example
 * ```ts
 * const k = await readProviderKeyFile('model.enn.key');
 * try { use(k.modelKey); } finally { zeroize(k.modelKey, k.signingKey); }
 * ```
 */
export async function readProviderKeyFile(path: string): Promise<ProviderKey> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EnclaveNnError('PROVIDER_KEY', `Cannot read provider key file ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message}`);
  }
  try {
    return decodeProviderKeyFile(bytes, path);
  } finally {
    zeroize(bytes);
  }
}
