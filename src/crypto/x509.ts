/**
 * X.509 certificates (RFC 5280) as DCAP uses them: ECDSA P-256 / SHA-256 only.
 *
 * Parsing is done twice on purpose: our strict DER reader (src/crypto/der.ts) extracts the
 * fields we rely on (validity, serial, names, extensions, basicConstraints) and node's OpenSSL
 * parser must accept the same bytes. Signatures are checked over the exact TBS bytes.
 */
import { X509Certificate } from 'node:crypto';
import {
  Tag, children, decode, decodeBitStringBytes, decodeOid, decodeTime, decodeUnsigned, expectTag, DerError, type DerNode,
} from './der.ts';
import { sha256 } from './hash.ts';
import { p256RawFromSpki, verifyP256Sha256Der } from './ecdsa.ts';
import { toHex } from '../util/encoding.ts';

/** OID of ecdsa-with-SHA256 (RFC 5758 §3.2), the only signature algorithm accepted. */
export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_COMMON_NAME = '2.5.4.3';
/** Critical extensions this verifier processes: basicConstraints (here) and keyUsage (OpenSSL checkIssued). */
const PROCESSED_CRITICAL = new Set([OID_BASIC_CONSTRAINTS, '2.5.29.15']);

/** One certificate extension: its criticality and the contents of its extnValue OCTET STRING. */
export interface CertificateExtension {
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** A parsed certificate. All byte fields are views into `der`. */
export interface Certificate {
  /** The whole certificate, DER. */
  readonly der: Uint8Array;
  /** Lower-case hex SHA-256 of `der`: the fingerprint roots are pinned by. */
  readonly sha256: string;
  /** The signed TBSCertificate bytes. */
  readonly tbs: Uint8Array;
  /** The DER signature (Ecdsa-Sig-Value) over `tbs`. */
  readonly signature: Uint8Array;
  /** Serial number as lower-case hex without leading zero bytes (how CRLs are matched). */
  readonly serialHex: string;
  /** Raw DER of the issuer and subject Names (compared byte for byte). */
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  /** The subject's and issuer's CommonName, for messages only — never for trust decisions. */
  readonly subjectCN: string;
  readonly issuerCN: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** Raw `X ‖ Y` P-256 public key. */
  readonly publicKey: Uint8Array;
  /** basicConstraints cA. */
  readonly isCA: boolean;
  /** basicConstraints pathLenConstraint, when present. */
  readonly pathLen?: number;
  /** Extensions by dotted OID. */
  readonly extensions: ReadonlyMap<string, CertificateExtension>;
}

/** Thrown for a certificate that cannot be parsed or is outside the supported profile. */
export class CertificateError extends SyntaxError {
  override readonly name = 'CertificateError';
}

/** The CommonName in a DER Name, or '' (for messages only). */
export function commonNameOf(nameDer: Uint8Array): string {
  try {
    for (const rdn of children(decode(nameDer))) {
      for (const atv of children(rdn)) {
        const [type, value] = children(atv);
        if (type && value && type.tag === Tag.OID && decodeOid(type.value) === OID_COMMON_NAME) {
          return new TextDecoder().decode(value.value);
        }
      }
    }
  } catch {
    /* fall through */
  }
  return '';
}

/** Checks an AlgorithmIdentifier is ecdsa-with-SHA256 with absent parameters (RFC 5758 §3.2). */
export function expectEcdsaSha256(alg: DerNode | undefined, what: string): void {
  const parts = children(expectTag(alg, Tag.SEQUENCE, what));
  if (parts.length !== 1 || decodeOid(expectTag(parts[0], Tag.OID, what).value) !== OID_ECDSA_WITH_SHA256) {
    throw new CertificateError(`${what} is not ecdsa-with-SHA256`);
  }
}

/**
 * Parses a DER certificate strictly. Throws {@link CertificateError} for malformed DER, a
 * non-ECDSA-P256-SHA256 certificate, mismatched inner/outer algorithms, or duplicate extensions.
 *
 * @example
 * ```ts
 * const root = parseCertificate(der); root.sha256 // '44a0196b…'
 * ```
 */
export function parseCertificate(der: Uint8Array): Certificate {
  try {
    return parseCertificateUnchecked(der);
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError(`certificate does not parse: ${(e as Error).message}`, { cause: e });
  }
}

function parseCertificateUnchecked(der: Uint8Array): Certificate {
  const top = children(expectTag(decode(der), Tag.SEQUENCE, 'Certificate'));
  if (top.length !== 3) throw new CertificateError('Certificate must have 3 parts');
  const [tbsNode, sigAlg, sigNode] = top as [DerNode, DerNode, DerNode];
  expectEcdsaSha256(sigAlg, 'signatureAlgorithm');
  const tbs = children(expectTag(tbsNode, Tag.SEQUENCE, 'TBSCertificate'));
  let i = 0;
  if (tbs[0]?.tag === 0xa0) {
    const v = children(tbs[0]);
    if (v.length !== 1 || v[0]!.tag !== Tag.INTEGER || v[0]!.value.length !== 1 || v[0]!.value[0] !== 2) {
      throw new CertificateError('only X.509 v3 certificates are supported');
    }
    i = 1;
  } else throw new CertificateError('only X.509 v3 certificates are supported');
  const serial = expectTag(tbs[i++], Tag.INTEGER, 'serialNumber').value;
  const innerAlg = tbs[i++];
  expectEcdsaSha256(innerAlg, 'TBSCertificate.signature');
  if (!equalBytes(innerAlg!.raw, sigAlg.raw)) throw new CertificateError('inner and outer signature algorithms differ');
  const issuer = expectTag(tbs[i++], Tag.SEQUENCE, 'issuer');
  const validity = children(expectTag(tbs[i++], Tag.SEQUENCE, 'validity'));
  if (validity.length !== 2) throw new CertificateError('validity must have 2 times');
  const notBefore = decodeTime(validity[0]!);
  const notAfter = decodeTime(validity[1]!);
  const subject = expectTag(tbs[i++], Tag.SEQUENCE, 'subject');
  const spki = expectTag(tbs[i++], Tag.SEQUENCE, 'subjectPublicKeyInfo');
  while (tbs[i] && (tbs[i]!.tag === 0x81 || tbs[i]!.tag === 0x82)) i++; // unique identifiers (unused)
  const extensions = new Map<string, CertificateExtension>();
  if (tbs[i]?.tag === 0xa3) {
    const list = children(tbs[i]!);
    if (list.length !== 1) throw new CertificateError('extensions must be one SEQUENCE');
    for (const ext of children(expectTag(list[0], Tag.SEQUENCE, 'extensions'))) {
      const f = children(expectTag(ext, Tag.SEQUENCE, 'extension'));
      const id = decodeOid(expectTag(f[0], Tag.OID, 'extnID').value);
      let critical = false;
      let k = 1;
      if (f[k]?.tag === Tag.BOOLEAN) {
        if (f[k]!.value.length !== 1 || f[k]!.value[0] !== 0xff) throw new CertificateError('critical must be DER TRUE when present');
        critical = true;
        k++;
      }
      const value = expectTag(f[k], Tag.OCTET_STRING, 'extnValue').value;
      if (f.length !== k + 1) throw new CertificateError('extension has extra fields');
      if (extensions.has(id)) throw new CertificateError(`duplicate extension ${id}`);
      extensions.set(id, { critical, value });
    }
    i++;
  }
  if (i !== tbs.length) throw new CertificateError('TBSCertificate has unexpected fields');
  const signature = decodeBitStringBytes(sigNode);
  let isCA = false;
  let pathLen: number | undefined;
  const bc = extensions.get(OID_BASIC_CONSTRAINTS);
  if (bc) {
    const f = children(expectTag(decode(bc.value), Tag.SEQUENCE, 'basicConstraints'));
    let k = 0;
    if (f[k]?.tag === Tag.BOOLEAN) isCA = f[k++]!.value[0] === 0xff;
    if (f[k]?.tag === Tag.INTEGER) pathLen = Number(decodeUnsigned(f[k++]!.value));
    if (k !== f.length) throw new CertificateError('basicConstraints has unexpected fields');
  }
  for (const [id, e] of extensions) {
    // RFC 5280 §4.2: a certificate with a critical extension we do not process MUST be rejected.
    if (e.critical && !PROCESSED_CRITICAL.has(id)) throw new CertificateError(`unsupported critical extension ${id}`);
  }
  let publicKey: Uint8Array;
  try {
    publicKey = p256RawFromSpki(spki.raw);
  } catch (e) {
    throw new CertificateError('certificate key is not ECDSA P-256', { cause: e });
  }
  let s = 0;
  while (s < serial.length - 1 && serial[s] === 0) s++;
  return {
    der,
    sha256: toHex(sha256(der)),
    tbs: tbsNode.raw,
    signature,
    serialHex: toHex(serial.subarray(s)),
    issuerDer: issuer.raw,
    subjectDer: subject.raw,
    subjectCN: commonNameOf(subject.raw),
    issuerCN: commonNameOf(issuer.raw),
    notBefore,
    notAfter,
    spki: spki.raw,
    publicKey,
    isCA,
    ...(pathLen === undefined ? {} : { pathLen }),
    extensions,
  };
}

// OpenSSL's parse of a certificate, cached by fingerprint (parsing costs more than verifying).
const opensslCache = new Map<string, X509Certificate | null>();

/** OpenSSL's view of the same bytes, or null when OpenSSL rejects them (a second, independent parser). */
function opensslView(cert: Certificate): X509Certificate | null {
  let v = opensslCache.get(cert.sha256);
  if (v === undefined) {
    try {
      v = new X509Certificate(Buffer.from(cert.der));
    } catch {
      v = null;
    }
    if (opensslCache.size >= 64) opensslCache.delete(opensslCache.keys().next().value!);
    opensslCache.set(cert.sha256, v);
  }
  return v;
}

/**
 * True when `child` was issued by `issuer`: issuer Name equals the issuer's subject byte for
 * byte, OpenSSL's issuer checks pass (key identifiers, keyUsage keyCertSign when present), the
 * issuer is a CA, and the ECDSA-SHA256 signature over the TBS verifies with the issuer's key.
 */
export function isIssuedBy(child: Certificate, issuer: Certificate): boolean {
  if (!issuer.isCA) return false;
  // Positive results are memoised by both fingerprints: the check is a pure function of the bytes.
  const memo = `${child.sha256}:${issuer.sha256}`;
  if (issuedMemo.has(memo)) return true;
  if (!isIssuedByUncached(child, issuer)) return false;
  if (issuedMemo.size >= 256) issuedMemo.delete(issuedMemo.values().next().value!);
  issuedMemo.add(memo);
  return true;
}

const issuedMemo = new Set<string>();

function isIssuedByUncached(child: Certificate, issuer: Certificate): boolean {
  if (!equalBytes(child.issuerDer, issuer.subjectDer)) return false;
  const c = opensslView(child);
  const i = opensslView(issuer);
  if (!c || !i || !c.checkIssued(i)) return false;
  return verifyP256Sha256Der(child.tbs, child.signature, issuer.publicKey);
}

/** True when `at` lies within the certificate's validity period (inclusive, RFC 5280 §4.1.2.5). */
export function isValidAt(cert: Certificate, at: Date): boolean {
  return cert.notBefore.getTime() <= at.getTime() && at.getTime() <= cert.notAfter.getTime();
}

const PEM_RE = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----/;

/**
 * Splits a PEM chain into DER certificates, strictly: only CERTIFICATE blocks separated by line
 * breaks, canonical base64 (a re-encoding must give the same text, so no bit of the text is
 * ignored), and at most one trailing NUL (Intel's PCK chains end with one).
 *
 * @example
 * ```ts
 * const [leaf, intermediate, root] = parsePemCertificates(certificationData);
 * ```
 */
export function parsePemCertificates(input: string | Uint8Array): Uint8Array[] {
  let text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  if (text.endsWith('\0')) text = text.slice(0, -1);
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < text.length) {
    while (text[p] === '\n' || text[p] === '\r') p++;
    if (p >= text.length) break;
    const m = PEM_RE.exec(text.slice(p));
    if (!m) throw new CertificateError(`PEM chain has unexpected text at offset ${p}`);
    const b64 = m[1]!.replace(/\r?\n/g, '');
    if (/[\r\n]/.test(b64)) throw new CertificateError('PEM has a bare carriage return');
    const der = Buffer.from(b64, 'base64');
    if (der.toString('base64') !== b64) throw new CertificateError('PEM base64 is not canonical');
    out.push(new Uint8Array(der));
    p += m[0].length;
  }
  if (out.length === 0) throw new CertificateError('PEM chain holds no certificate');
  return out;
}

/** Encodes a DER certificate as PEM (64-column base64). */
export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** Constant-structure byte equality (not secret data; plain compare). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { DerError };
