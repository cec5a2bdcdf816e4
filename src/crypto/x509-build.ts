/**
 * Creates X.509 v3 certificates in-process (node:crypto parses certificates but cannot make
 * them). Used only by the INSECURE simulated PCK chain (src/attest/sim.ts) and by tests: the
 * TBSCertificate is assembled with src/crypto/der.ts and signed with ECDSA P-256 / SHA-256.
 */
import { randomBytes } from 'node:crypto';
import * as der from './der.ts';
import { p256SpkiDer, signP256Sha256Der, type P256PrivateKey } from './ecdsa.ts';
import { OID_ECDSA_WITH_SHA256 } from './x509.ts';

/** A certificate to create. */
export interface CertificateTemplate {
  /** Subject CommonName (and O = `organization`). */
  readonly subjectCN: string;
  /** @defaultValue 'Enclave-NN' */
  readonly organization?: string;
  /** The subject's raw `X ‖ Y` P-256 public key. */
  readonly publicKey: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA gets basicConstraints cA=TRUE (critical) and keyUsage keyCertSign|cRLSign; a leaf keyUsage digitalSignature. */
  readonly isCA: boolean;
  /** Extra extensions: dotted OID → DER extnValue contents. */
  readonly extraExtensions?: ReadonlyArray<{ oid: string; critical?: boolean; value: Uint8Array }>;
}

/** The issuer: its DER subject Name and private key. Omit for a self-signed certificate. */
export interface CertificateIssuer {
  readonly subjectDer: Uint8Array;
  readonly privateKey: P256PrivateKey;
}

/** The DER Name `CN=<cn>, O=<org>` (UTF8String values). */
export function nameDer(cn: string, org: string): Uint8Array {
  const atv = (oid: string, v: string) => der.set(der.seq(der.oid(oid), der.utf8String(v)));
  return der.seq(atv('2.5.4.10', org), atv('2.5.4.3', cn));
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? der.seq(der.oid(oid), der.boolean(true), der.octetString(value)) : der.seq(der.oid(oid), der.octetString(value));
}

/**
 * Creates and signs a certificate; returns its DER. Self-signed when `issuer` is omitted
 * (then `selfKey` signs).
 *
 * @example
 * ```ts
 * const root = createCertificate({ subjectCN: 'Test Root', publicKey, notBefore, notAfter, isCA: true }, undefined, privateKey);
 * ```
 */
export function createCertificate(t: CertificateTemplate, issuer: CertificateIssuer | undefined, selfKey?: P256PrivateKey): Uint8Array {
  const subject = nameDer(t.subjectCN, t.organization ?? 'Enclave-NN');
  const signer = issuer ?? (selfKey && { subjectDer: subject, privateKey: selfKey });
  if (!signer) throw new TypeError('createCertificate: a self-signed certificate needs selfKey');
  // 16 random bytes, top bit cleared: a positive serial unique per certificate (RFC 5280 §4.1.2.2).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01;
  const alg = der.seq(der.oid(OID_ECDSA_WITH_SHA256));
  // keyUsage BIT STRING: digitalSignature (bit 0) for leaves; keyCertSign (5) | cRLSign (6) for CAs.
  const keyUsage = t.isCA ? der.tlv(der.Tag.BIT_STRING, Uint8Array.of(1, 0x06)) : der.tlv(der.Tag.BIT_STRING, Uint8Array.of(7, 0x80));
  const exts = [
    ...(t.isCA ? [extension('2.5.29.19', true, der.seq(der.boolean(true)))] : []),
    extension('2.5.29.15', true, keyUsage),
    ...(t.extraExtensions ?? []).map((e) => extension(e.oid, e.critical ?? false, e.value)),
  ];
  const tbs = der.seq(
    der.explicit(0, der.integer(2)),
    der.integer(new Uint8Array(serial)),
    alg,
    signer.subjectDer,
    der.seq(der.time(t.notBefore), der.time(t.notAfter)),
    subject,
    p256SpkiDer(t.publicKey),
    der.explicit(3, der.seq(...exts)),
  );
  return der.seq(tbs, alg, der.bitString(signP256Sha256Der(tbs, signer.privateKey)));
}

/** A CRL to create (tests and the sim only). */
export interface CrlTemplate {
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** Revoked serials, lower-case hex without leading zero bytes (as `Certificate.serialHex`). */
  readonly revokedSerials?: readonly string[];
}

/** Creates and signs a v2 CRL (RFC 5280 §5) by `issuer`; returns its DER. */
export function createCrl(t: CrlTemplate, issuer: CertificateIssuer): Uint8Array {
  const alg = der.seq(der.oid(OID_ECDSA_WITH_SHA256));
  const revoked = (t.revokedSerials ?? []).map((s) => der.seq(der.integer(Uint8Array.from(Buffer.from(s.length % 2 ? `0${s}` : s, 'hex'))), der.time(t.thisUpdate)));
  const tbs = der.seq(
    der.integer(1),
    alg,
    issuer.subjectDer,
    der.time(t.thisUpdate),
    der.time(t.nextUpdate),
    ...(revoked.length ? [der.seq(...revoked)] : []),
  );
  return der.seq(tbs, alg, der.bitString(signP256Sha256Der(tbs, issuer.privateKey)));
}
