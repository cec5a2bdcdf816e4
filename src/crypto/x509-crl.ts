/**
 * X.509 certificate revocation lists (RFC 5280 §5) as Intel publishes them for DCAP (the root
 * CA CRL and the PCK Processor/Platform CA CRLs): ECDSA P-256 / SHA-256, DER.
 */
import { Tag, children, decode, decodeBitStringBytes, decodeTime, expectTag, type DerNode } from './der.ts';
import { verifyP256Sha256Der } from './ecdsa.ts';
import { CertificateError, commonNameOf, equalBytes, expectEcdsaSha256, type Certificate } from './x509.ts';

/** A parsed CRL. */
export interface Crl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
  /** Raw DER issuer Name. */
  readonly issuerDer: Uint8Array;
  /** Issuer CommonName (messages only). */
  readonly issuerCN: string;
  readonly thisUpdate: Date;
  /** Absent only in CRLs that RFC 5280 says conforming issuers must not produce. */
  readonly nextUpdate?: Date;
  /** Revoked serial numbers: lower-case hex without leading zero bytes. */
  readonly revokedSerials: ReadonlySet<string>;
}

/**
 * Parses a DER CRL strictly (v2 or v1, ecdsa-with-SHA256). Throws {@link CertificateError}.
 *
 * @example
 * ```ts
 * const crl = parseCrl(hexToBytes(collateral.pck_crl)); crl.revokedSerials.has(leaf.serialHex)
 * ```
 */
export function parseCrl(der: Uint8Array): Crl {
  try {
    const top = children(expectTag(decode(der), Tag.SEQUENCE, 'CertificateList'));
    if (top.length !== 3) throw new CertificateError('CertificateList must have 3 parts');
    const [tbsNode, sigAlg, sigNode] = top as [DerNode, DerNode, DerNode];
    expectEcdsaSha256(sigAlg, 'CRL signatureAlgorithm');
    const f = children(expectTag(tbsNode, Tag.SEQUENCE, 'TBSCertList'));
    let i = 0;
    if (f[0]?.tag === Tag.INTEGER) {
      if (f[0].value.length !== 1 || f[0].value[0] !== 1) throw new CertificateError('CRL version must be v2');
      i++;
    }
    const inner = f[i++];
    expectEcdsaSha256(inner, 'TBSCertList.signature');
    if (!equalBytes(inner!.raw, sigAlg.raw)) throw new CertificateError('CRL inner and outer algorithms differ');
    const issuer = expectTag(f[i++], Tag.SEQUENCE, 'CRL issuer');
    const thisUpdate = decodeTime(f[i++]!);
    let nextUpdate: Date | undefined;
    if (f[i] && (f[i]!.tag === Tag.UTC_TIME || f[i]!.tag === Tag.GENERALIZED_TIME)) nextUpdate = decodeTime(f[i++]!);
    const revoked = new Set<string>();
    if (f[i]?.tag === Tag.SEQUENCE) {
      for (const entry of children(f[i++]!)) {
        const e = children(expectTag(entry, Tag.SEQUENCE, 'revokedCertificate'));
        const serial = expectTag(e[0], Tag.INTEGER, 'userCertificate').value;
        let s = 0;
        while (s < serial.length - 1 && serial[s] === 0) s++;
        revoked.add(Buffer.from(serial.subarray(s)).toString('hex'));
      }
    }
    if (f[i]?.tag === 0xa0) i++; // crlExtensions (CRL number, AKI): informational here
    if (i !== f.length) throw new CertificateError('TBSCertList has unexpected fields');
    return {
      der,
      tbs: tbsNode.raw,
      signature: decodeBitStringBytes(sigNode),
      issuerDer: issuer.raw,
      issuerCN: commonNameOf(issuer.raw),
      thisUpdate,
      nextUpdate,
      revokedSerials: revoked,
    };
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError(`CRL does not parse: ${(e as Error).message}`, { cause: e });
  }
}

/** True when the CRL names `issuer` as its issuer (byte-equal Name) and its signature verifies with the issuer's key. */
export function isCrlIssuedBy(crl: Crl, issuer: Certificate): boolean {
  return equalBytes(crl.issuerDer, issuer.subjectDer) && verifyP256Sha256Der(crl.tbs, crl.signature, issuer.publicKey);
}

/** True when `at` lies within [thisUpdate, nextUpdate]. A CRL without nextUpdate is never current. */
export function isCrlCurrentAt(crl: Crl, at: Date): boolean {
  return crl.nextUpdate !== undefined && crl.thisUpdate.getTime() <= at.getTime() && at.getTime() <= crl.nextUpdate.getTime();
}
