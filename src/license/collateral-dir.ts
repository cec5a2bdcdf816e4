/**
 * DCAP collateral for the license server from a directory the provider refreshes from Intel's
 * PCS (docs/license-protocol.md §4.5.1): the files are read at every provisioning, so a refresh
 * needs no restart, and their `nextUpdate` is enforced by the verifier (an expired file refuses).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCollateralJson } from '../attest/collateral.ts';
import type { VerifiedChain } from '../attest/chain.ts';
import { parsePckExtensions } from '../attest/pck-extensions.ts';
import type { Collateral } from '../attest/types.ts';
import { certificateToPem } from '../crypto/x509.ts';
import { EnclaveNnError } from '../errors.ts';

/** File names in a collateral directory (§4.5.1). `<fmspc>` is 12 lower-case hex digits. */
export const COLLATERAL_FILES = {
  /** Intel SGX Root CA CRL (DER or PEM): `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`. */
  rootCaCrl: 'root-ca.crl',
  /** PCK CA CRL (DER or PEM) by CA type: PCS `GET /sgx/certification/v4/pckcrl?ca=processor|platform`. */
  pckCrl: (ca: 'processor' | 'platform'): string => `pck-${ca}-ca.crl`,
  /** PEM TCB Signing ‖ root: the PCS `TCB-Info-Issuer-Chain` header (the same chain signs QE Identity). */
  tcbSigningChain: 'tcb-signing-chain.pem',
  /** PCS body `{"enclaveIdentity":…,"signature":…}` of `GET /sgx/certification/v4/qe/identity`. */
  qeIdentity: 'qe-identity.json',
  /** PCS body `{"tcbInfo":…,"signature":…}` of `GET /sgx/certification/v4/tcb?fmspc=<fmspc>`. */
  tcbInfo: (fmspc: string): string => `tcb-info-${fmspc}.json`,
} as const;

/** Where collateral comes from: the set for one verified PCK chain. */
export interface CollateralSource {
  /** A label for logs (the directory). */
  readonly label: string;
  /** The collateral for the platform of `pck` (its FMSPC and PCK CA); throws `ATTEST_COLLATERAL_MISSING`. */
  forChain(pck: VerifiedChain): Collateral;
}

/**
 * A collateral directory (files named by {@link COLLATERAL_FILES}).
 *
 * @example
 * ```ts
 * const collateral = collateralDir('/etc/enclave-nn/collateral');
 * new LicenseService({ store, masterKey, roots: [INTEL_SGX_ROOT_CA], collateral });
 * ```
 */
export function collateralDir(dir: string): CollateralSource {
  let isDir = false;
  try { isDir = statSync(dir).isDirectory(); } catch { /* reported below */ }
  if (!isDir) throw new EnclaveNnError('USAGE', `Cannot use collateral directory ${dir}: it is not a directory`);
  const read = (name: string, why: string): Buffer => {
    try {
      return readFileSync(join(dir, name));
    } catch (e) {
      throw new EnclaveNnError('ATTEST_COLLATERAL_MISSING', `Cannot check the platform's TCB: ${join(dir, name)} (${why}) cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); refresh the collateral from Intel PCS`, { cause: e });
    }
  };
  return {
    label: dir,
    forChain(pck: VerifiedChain): Collateral {
      const fmspc = Buffer.from(parsePckExtensions(pck.leaf).fmspc).toString('hex');
      const ca = pck.certs[1]!;
      // Intel names the two PCK CAs "Intel SGX PCK Processor CA" and "Intel SGX PCK Platform CA".
      const caType = /platform/i.test(ca.subjectCN) ? 'platform' : 'processor';
      const tcbChain = read(COLLATERAL_FILES.tcbSigningChain, 'TCB Signing chain').toString('utf8');
      try {
        return parseCollateralJson(JSON.stringify({
          // The PCK CRL's issuer is the quote's own PCK CA, already verified up to the pinned root.
          pck_crl_issuer_chain: certificateToPem(ca.der) + certificateToPem(pck.root.der),
          root_ca_crl: crlHex(read(COLLATERAL_FILES.rootCaCrl, 'Root CA CRL')),
          pck_crl: crlHex(read(COLLATERAL_FILES.pckCrl(caType), `PCK ${caType} CA CRL`)),
          tcb_info_issuer_chain: tcbChain,
          tcb_info: read(COLLATERAL_FILES.tcbInfo(fmspc), `TCB Info of FMSPC ${fmspc}`).toString('utf8'),
          qe_identity_issuer_chain: tcbChain,
          qe_identity: read(COLLATERAL_FILES.qeIdentity, 'QE Identity').toString('utf8'),
        }));
      } catch (e) {
        if (e instanceof EnclaveNnError && e.code === 'ATTEST_COLLATERAL_PARSE') throw new EnclaveNnError(e.code, `${e.message} (in ${dir})`, { cause: e });
        throw e;
      }
    },
  };
}

/** A CRL file as hex of its DER: PEM (`-----BEGIN X509 CRL-----`, PCS's default) or DER. */
function crlHex(b: Buffer): string {
  const pem = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/.exec(b.toString('latin1'));
  return (pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : b).toString('hex');
}
