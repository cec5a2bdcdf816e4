/**
 * Server secrets at rest (docs/license-protocol.md §7.2): the master key that encrypts every
 * model's key and signing seed in the database, and the admin token. Both come from the
 * environment or from 0600 files in the data directory (created on first start).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aeadOpen, aeadSeal, AEAD_NONCE_SIZE, concatBytes, randomBytes, sha256, timingSafeEqual } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';

/** AAD label of model secrets at rest: a ciphertext only opens as the secrets of its own model. */
const LABEL_MODEL_SECRETS = 'enclave-nn/v1/model-secrets-at-rest';
const utf8 = new TextEncoder();

function readSecretFile(path: string, what: string): string {
  const st = statSync(path);
  // A secret readable by group or others is as good as published on a shared machine.
  if ((st.mode & 0o077) !== 0) throw new EnclaveNnError('SERVER_SECRET', `Cannot use ${what} ${path}: its mode ${(st.mode & 0o777).toString(8)} lets others read it (chmod 600)`);
  return readFileSync(path, 'utf8').trim();
}

function createSecretFile(path: string, value: string): void {
  try {
    writeFileSync(path, value + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process won the race: use its file
  }
}

/**
 * The 32-byte master key: `$ENCLAVE_NN_MASTER_KEY` (base64), else `<dataDir>/master.key`
 * (base64, mode 0600, created with 32 random bytes when absent).
 */
export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  let b64 = env.ENCLAVE_NN_MASTER_KEY;
  let source = 'ENCLAVE_NN_MASTER_KEY';
  if (!b64) {
    source = join(dataDir, 'master.key');
    if (!existsSync(source)) createSecretFile(source, Buffer.from(randomBytes(32)).toString('base64'));
    b64 = readSecretFile(source, 'master key');
  }
  const key = new Uint8Array(Buffer.from(b64, 'base64'));
  if (key.byteLength !== 32) throw new EnclaveNnError('SERVER_SECRET', `Cannot use master key from ${source}: it is not 32 bytes of base64`);
  return key;
}

/**
 * The admin bearer token: `$ENCLAVE_NN_ADMIN_TOKEN`, else `<dataDir>/admin.token` (mode 0600,
 * 32 random bytes in base64url, created when absent).
 */
export function loadAdminToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): { token: string; source: string } {
  if (env.ENCLAVE_NN_ADMIN_TOKEN) {
    if (env.ENCLAVE_NN_ADMIN_TOKEN.length < 16) throw new EnclaveNnError('SERVER_SECRET', 'Cannot use ENCLAVE_NN_ADMIN_TOKEN: shorter than 16 characters');
    return { token: env.ENCLAVE_NN_ADMIN_TOKEN, source: 'ENCLAVE_NN_ADMIN_TOKEN' };
  }
  const path = join(dataDir, 'admin.token');
  if (!existsSync(path)) createSecretFile(path, Buffer.from(randomBytes(32)).toString('base64url'));
  return { token: readSecretFile(path, 'admin token'), source: path };
}

/**
 * Compares a presented bearer token with the expected one in constant time: both are hashed
 * first, so neither the content nor the length of the expected token leaks through timing.
 */
export function adminTokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(sha256(utf8.encode(expected)), sha256(utf8.encode(presented)));
}

/** Encrypts a model's key and signing seed under the master key: `nonce ‖ AES-256-GCM(modelKey ‖ seed)`, AAD = label ‖ model id. */
export function sealModelSecrets(masterKey: Uint8Array, modelId: string, modelKey: Uint8Array, signingSeed: Uint8Array): Uint8Array {
  // A random nonce: the master key seals many models over the server's life.
  const nonce = randomBytes(AEAD_NONCE_SIZE);
  const plain = concatBytes(modelKey, signingSeed);
  try {
    return concatBytes(nonce, aeadSeal(masterKey, nonce, plain, aadFor(modelId)));
  } finally {
    plain.fill(0);
  }
}

/** Opens {@link sealModelSecrets}; throws `SERVER_SECRET` (wrong master key or tampered row). */
export function openModelSecrets(masterKey: Uint8Array, modelId: string, sealed: Uint8Array): { modelKey: Uint8Array; signingSeed: Uint8Array } {
  let plain: Uint8Array;
  try {
    plain = aeadOpen(masterKey, sealed.subarray(0, AEAD_NONCE_SIZE), sealed.subarray(AEAD_NONCE_SIZE), aadFor(modelId));
  } catch (cause) {
    throw new EnclaveNnError('SERVER_SECRET', `Cannot open the secrets of model ${modelId}: wrong master key or modified database row`, { cause, exitCode: 1 });
  }
  const out = { modelKey: plain.slice(0, 32), signingSeed: plain.slice(32, 64) };
  plain.fill(0);
  return out;
}

function aadFor(modelId: string): Uint8Array {
  return concatBytes(utf8.encode(LABEL_MODEL_SECRETS), Uint8Array.of(0), utf8.encode(modelId));
}
