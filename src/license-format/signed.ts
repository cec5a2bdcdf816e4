/**
 * Signed objects of the license protocol (docs/license-protocol.md §2): a canonical-JSON body
 * and an Ed25519 signature over `label ‖ 0x00 ‖ body`, sent as `base64url(body).base64url(sig)`.
 * Licenses, grants and usage reports are all signed objects; each has its own label so that a
 * signature made for one can never be replayed as another (domain separation).
 */
import { ed25519Sign, concatBytes } from '../crypto/index.ts';
import { ed25519Verifier, type Ed25519Signer } from '../crypto/ed25519-keys.ts';
import { canonicalJson, parseCanonicalJson } from '../util/canonical-json.ts';
import { EnclaveNnError } from '../errors.ts';
import { fromBase64Url, fromHex, toBase64Url, toHex } from '../util/encoding.ts';

/** Signature label of a license token (§3). */
export const LABEL_LICENSE = 'enclave-nn/v1/license';
/** Signature label of a credit grant (§5). */
export const LABEL_GRANT = 'enclave-nn/v1/grant';
/** Signature label of an enclave usage report (§5). */
export const LABEL_USAGE_REPORT = 'enclave-nn/v1/usage-report';

/** A decoded signed object: its body bytes, its parsed value and its signature. */
export interface SignedObject {
  /** The exact canonical JSON bytes that were signed. */
  body: Uint8Array;
  /** The parsed body. */
  value: Record<string, unknown>;
  /** The 64-byte Ed25519 signature. */
  signature: Uint8Array;
}

const utf8 = new TextEncoder();

/** Decodes strict base64url (no padding); throws TypeError on any other character. */
export function fromB64u(s: string, what: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new TypeError(`${what} is not base64url`);
  return fromBase64Url(s);
}

/** The bytes a signature covers: `label ‖ 0x00 ‖ body` (§2). */
export function signedMessage(label: string, body: Uint8Array): Uint8Array {
  let prefix = prefixes.get(label);
  if (!prefix) { prefix = concatBytes(utf8.encode(label), new Uint8Array([0])); prefixes.set(label, prefix); }
  return concatBytes(prefix, body);
}
// `label ‖ 0x00` per label: three labels, encoded once per process instead of once per signature.
const prefixes = new Map<string, Uint8Array>();

/**
 * Signs `value` (canonical JSON) under `label` with a 32-byte Ed25519 seed or a cached signer.
 *
 * @example
 * ```ts
 * const token = signObject(LABEL_GRANT, { type: 'enclave-nn-grant', … }, providerSeed); // "eyJ….Zm9v…"
 * ```
 */
export function signObject(label: string, value: Record<string, unknown>, key: Uint8Array | Ed25519Signer): string {
  const body = utf8.encode(canonicalJson(value));
  const msg = signedMessage(label, body);
  return `${toBase64Url(body)}.${toBase64Url(typeof key === 'function' ? key(msg) : ed25519Sign(key, msg))}`;
}

/**
 * Decodes a signed object and verifies its signature under `label` with `publicKey`.
 * Throws `EnclaveNnError(code)` naming `what` if it is malformed, not canonical, or the
 * signature does not verify (§2: a reader MUST reject all three).
 */
export function openSigned(token: string, label: string, publicKey: Uint8Array, what: string, code: string): SignedObject {
  const o = decodeSigned(token, what, code);
  if (!verifySigned(label, o, publicKey)) {
    throw new EnclaveNnError(code, `Cannot accept ${what}: its signature does not verify`);
  }
  return o;
}

// Imported public keys, by hex: a server verifies the same enclaves' and providers' keys over
// and over. Bounded: cleared when full (a cache, not a registry).
const verifiers = new Map<string, (m: Uint8Array, s: Uint8Array) => boolean>();
function verifierFor(publicKey: Uint8Array | string): (m: Uint8Array, s: Uint8Array) => boolean {
  const k = typeof publicKey === 'string' ? publicKey : toHex(publicKey);
  let v = verifiers.get(k);
  if (!v) {
    if (verifiers.size >= 4096) verifiers.clear();
    v = ed25519Verifier(typeof publicKey === 'string' ? fromHex(publicKey) : publicKey);
    verifiers.set(k, v);
  }
  return v;
}

/**
 * True when a decoded object's signature verifies under `label` with `publicKey` (bytes, or
 * lowercase hex as an enclave id carries it: the key cache is keyed by hex, so no re-encoding).
 */
export function verifySigned(label: string, o: SignedObject, publicKey: Uint8Array | string): boolean {
  return verifierFor(publicKey)(signedMessage(label, o.body), o.signature);
}

/** Decodes a signed object without verifying it (to find which key should verify it). */
export function decodeSigned(token: string, what: string, code: string): SignedObject {
  if (typeof token !== 'string' || token.length > 16384) throw new EnclaveNnError(code, `Cannot read ${what}: not a token string`);
  const parts = token.split('.');
  if (parts.length !== 2) throw new EnclaveNnError(code, `Cannot read ${what}: expected 2 dot-separated parts, got ${parts.length}`);
  try {
    const body = fromB64u(parts[0]!, 'body');
    const signature = fromB64u(parts[1]!, 'signature');
    const value = parseCanonicalJson(body);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('body is not an object');
    return { body, value: value as Record<string, unknown>, signature };
  } catch (cause) {
    throw new EnclaveNnError(code, `Cannot read ${what}: ${(cause as Error).message}`, { cause });
  }
}
