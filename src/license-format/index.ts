/**
 * The license protocol's bytes (docs/license-protocol.md §2–§4), shared by the license server,
 * its client and the enclave: signed objects, license / grant / usage-report tokens and the
 * license package a PROVISION carries. Pure functions; no I/O.
 *
 * @example
 * ```ts
 * const license = signLicense(terms, providerSeed); // terms and token
 * const again = openLicense(license.token, providerPublicKey);
 * ```
 * @module
 */
export type { Grant, License, LicenseTerms, MonitorVerdict, OfflineGrace, UsageReport } from './types.ts';
export { LABEL_GRANT, LABEL_LICENSE, LABEL_USAGE_REPORT, decodeSigned, openSigned, signObject, verifySigned, type SignedObject } from './signed.ts';
export {
  openGrant, openLicense, openUsageReport, peekLicenseId, signGrant, signLicense, signUsageReport, verifyLicense, type VerifyLicenseOptions,
} from './token.ts';
export { NONCE_SIZE, decodeLicensePackage, encodeLicensePackage, enclaveIdOf, provisionTranscript, unwrapProvisionPayload, wrapProvisionPayload, type LicensePackage } from './provision.ts';
