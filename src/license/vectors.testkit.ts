/**
 * License-protocol test vectors (docs/license-protocol.md §2–§5): signed-object tokens with the
 * outcome a reader must reach, as text files in `testdata/vectors/license/` (STYLE.md 2).
 * Deterministic: fixed seeds, and Ed25519 signatures are deterministic.
 *
 *   npx tsx src/license/vectors.testkit.ts --write
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ed25519PublicKeyOf, sha256 } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { fromB64u, LABEL_GRANT, LABEL_LICENSE, LABEL_USAGE_REPORT, signObject } from '../license-format/signed.ts';
import { openGrant, openUsageReport, verifyLicense } from '../license-format/token.ts';
import { toBase64Url } from '../util/encoding.ts';

/** One vector. */
export interface Vector {
  name: string;
  kind: 'license' | 'grant' | 'usage';
  expect: 'success' | 'failure';
  /** The reference implementation's error code (failures only). */
  code?: string;
  /** Hex public key to verify with. */
  key: string;
  /** License only: the model the reader serves and its clock. */
  model?: string;
  now?: number;
  comment: string;
  token: string;
}

const seed = (label: string): Uint8Array => sha256(new TextEncoder().encode(`enclave-nn license test vector ${label}`));
const PROVIDER = seed('provider');
const OTHER = seed('another provider');
const ENCLAVE = seed('enclave');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const PROVIDER_PUB = hex(ed25519PublicKeyOf(PROVIDER));
const ENCLAVE_PUB = hex(ed25519PublicKeyOf(ENCLAVE));
const LICENSE = {
  type: 'enclave-nn-license', version: 1, licenseId: 'lic-vector-1', modelId: 'model-vector', customerId: 'acme',
  notBefore: 1800000000, notAfter: 1830000000, credits: 100, offline: { maxInferences: 100, maxSeconds: 604800 },
};
const REPORT_NONCE = hex(sha256(new TextEncoder().encode('enclave-nn license test vector report nonce')));
const GRANT = { type: 'enclave-nn-grant', version: 1, licenseId: 'lic-vector-1', enclaveId: ENCLAVE_PUB, seq: 3, nonce: REPORT_NONCE, allowance: 200, issuedAt: 1800000100 };
const USAGE = { type: 'enclave-nn-usage', version: 1, licenseId: 'lic-vector-1', enclaveId: ENCLAVE_PUB, seq: 3, nonce: REPORT_NONCE, used: 87, allowance: 100, at: 1800000100 };

const editBody = (token: string, f: (json: string) => string): string => {
  const [body, sig] = token.split('.') as [string, string];
  return `${toBase64Url(new TextEncoder().encode(f(new TextDecoder().decode(fromB64u(body, 'body')))))}.${sig}`;
};

/** Every vector, in order. */
export function buildVectors(): Vector[] {
  const lic = signObject(LABEL_LICENSE, LICENSE, PROVIDER);
  const L = (name: string, token: string, comment: string, code?: string, o: { model?: string; now?: number; key?: string } = {}): Vector => ({
    name, kind: 'license', expect: code ? 'failure' : 'success', ...(code ? { code } : {}), key: o.key ?? PROVIDER_PUB,
    model: o.model ?? 'model-vector', now: o.now ?? 1815000000, comment, token,
  });
  const grant = signObject(LABEL_GRANT, GRANT, PROVIDER);
  const usage = signObject(LABEL_USAGE_REPORT, USAGE, ENCLAVE);
  return [
    L('license-valid', lic, 'a license inside its window, for its model'),
    L('license-window-edge', lic, 'now = notAfter is still valid (inclusive)', undefined, { now: 1830000000 }),
    L('license-expired', lic, 'now = notAfter + 1', 'LICENSE_EXPIRED', { now: 1830000001 }),
    L('license-not-yet-valid', lic, 'now = notBefore - 1', 'LICENSE_NOT_YET_VALID', { now: 1799999999 }),
    L('license-other-model', lic, 'the reader serves another model', 'LICENSE_MODEL', { model: 'model-other' }),
    L('license-forged', signObject(LABEL_LICENSE, LICENSE, OTHER), 'signed by another key', 'LICENSE_INVALID'),
    L('license-edited', editBody(lic, (j) => j.replace('"credits":100', '"credits":900')), 'credits edited after signing', 'LICENSE_INVALID'),
    L('license-not-canonical', editBody(lic, (j) => j.replace('{', '{ ')), 'whitespace in the body', 'LICENSE_INVALID'),
    L('license-extra-member', signObject(LABEL_LICENSE, { ...LICENSE, note: 'x' }, PROVIDER), 'validly signed, but an unknown member', 'LICENSE_INVALID'),
    L('license-missing-member', signObject(LABEL_LICENSE, { ...LICENSE, credits: undefined }, PROVIDER), 'validly signed, but no credits', 'LICENSE_INVALID'),
    L('license-wrong-version', signObject(LABEL_LICENSE, { ...LICENSE, version: 2 }, PROVIDER), 'version 2 is unknown', 'LICENSE_INVALID'),
    L('license-grant-label', signObject(LABEL_GRANT, LICENSE, PROVIDER), 'a license body signed under the grant label', 'LICENSE_INVALID'),
    L('license-padded-base64', lic.replace('.', '=.'), 'base64url with padding', 'LICENSE_INVALID'),
    L('license-three-parts', `${lic}.AA`, 'three dot-separated parts', 'LICENSE_INVALID'),
    L('license-is-a-grant', grant, 'a grant token read as a license', 'LICENSE_INVALID'),
    { name: 'grant-valid', kind: 'grant', expect: 'success', key: PROVIDER_PUB, comment: 'a grant answering report 3', token: grant },
    { name: 'grant-edited', kind: 'grant', expect: 'failure', code: 'GRANT_INVALID', key: PROVIDER_PUB, comment: 'allowance edited', token: editBody(grant, (j) => j.replace('"allowance":200', '"allowance":900')) },
    { name: 'grant-no-nonce', kind: 'grant', expect: 'failure', code: 'GRANT_INVALID', key: PROVIDER_PUB, comment: 'validly signed, but no report nonce (a grant must answer one report)', token: signObject(LABEL_GRANT, { ...GRANT, nonce: undefined }, PROVIDER) },
    { name: 'grant-bad-enclave-id', kind: 'grant', expect: 'failure', code: 'GRANT_INVALID', key: PROVIDER_PUB, comment: 'enclaveId is not 32 bytes of lowercase hex', token: signObject(LABEL_GRANT, { ...GRANT, enclaveId: ENCLAVE_PUB.toUpperCase() }, PROVIDER) },
    { name: 'usage-valid', kind: 'usage', expect: 'success', key: ENCLAVE_PUB, comment: 'report 3 of an enclave', token: usage },
    { name: 'usage-provider-key', kind: 'usage', expect: 'failure', code: 'USAGE_INVALID', key: PROVIDER_PUB, comment: 'verified with the provider key instead of the enclave key', token: usage },
    { name: 'usage-edited', kind: 'usage', expect: 'failure', code: 'USAGE_INVALID', key: ENCLAVE_PUB, comment: 'used count lowered after signing', token: editBody(usage, (j) => j.replace('"used":87', '"used":7')) },
    { name: 'usage-no-nonce', kind: 'usage', expect: 'failure', code: 'USAGE_INVALID', key: ENCLAVE_PUB, comment: 'validly signed, but no nonce', token: signObject(LABEL_USAGE_REPORT, { ...USAGE, nonce: undefined }, ENCLAVE) },
    { name: 'usage-seq-zero', kind: 'usage', expect: 'failure', code: 'USAGE_INVALID', key: ENCLAVE_PUB, comment: 'sequence numbers start at 1', token: signObject(LABEL_USAGE_REPORT, { ...USAGE, seq: 0 }, ENCLAVE) },
  ];
}

/** The file text of a vector: `key: value` lines, an empty line, the token. */
export function encodeVector(v: Vector): string {
  const lines = [`expect: ${v.expect}`, ...(v.code ? [`code: ${v.code}`] : []), `kind: ${v.kind}`, `key: ${v.key}`,
    ...(v.model ? [`model: ${v.model}`] : []), ...(v.now !== undefined ? [`now: ${v.now}`] : []), `comment: ${v.comment}`];
  return `${lines.join('\n')}\n\n${v.token}\n`;
}

/** Parses a vector file. */
export function decodeVector(name: string, text: string): Vector {
  const [head, token] = text.split('\n\n') as [string, string];
  const f = Object.fromEntries(head.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
  return {
    name, kind: f.kind as Vector['kind'], expect: f.expect as Vector['expect'], ...(f.code ? { code: f.code } : {}), key: f.key!,
    ...(f.model ? { model: f.model } : {}), ...(f.now ? { now: Number(f.now) } : {}), comment: f.comment ?? '', token: token.trim(),
  };
}

/** Runs a vector through the reference reader; the outcome and error code. */
export function runVector(v: Vector): { expect: 'success' | 'failure'; code?: string } {
  const key = new Uint8Array(Buffer.from(v.key, 'hex'));
  try {
    if (v.kind === 'license') verifyLicense(v.token, key, { modelId: v.model!, now: v.now! });
    else if (v.kind === 'grant') openGrant(v.token, key);
    else openUsageReport(v.token, key);
    return { expect: 'success' };
  } catch (e) {
    if (!(e instanceof EnclaveNnError)) throw e;
    return { expect: 'failure', code: e.code };
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  const dir = new URL('../../testdata/vectors/license/', import.meta.url);
  for (const v of buildVectors()) writeFileSync(new URL(v.name, dir), encodeVector(v));
  console.log(`wrote ${buildVectors().length} vectors to ${fileURLToPath(dir)}`);
}
