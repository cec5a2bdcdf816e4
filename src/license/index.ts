/**
 * Licensing: attestation-gated key provisioning and metered licenses (docs/license-protocol.md).
 *
 * - signed objects: {@link signLicense}/{@link verifyLicense}, {@link signGrant}/{@link openGrant},
 *   {@link signUsageReport}/{@link openUsageReport}
 * - the server: {@link LicenseService} (decisions, audit) behind {@link LicenseServer} (HTTP),
 *   on a {@link LicenseStore} opened with {@link openStore} (embedded PGlite or PostgreSQL)
 * - the customer: {@link licenseServerKeyProvider}, {@link licenseFileKeyProvider},
 *   {@link checkIn}, {@link runLicensed}, {@link createLicenseRequest}
 * - the enclave: {@link EnclaveLicense} (imported by the trusted program), {@link LicenseEnforcer}
 *
 * @example
 * ```ts
 * import { licenseServerKeyProvider } from './license/index.ts';
 * const s = await Session.create({ bundle: 'model.enn', keySource: licenseServerKeyProvider({ server, licenseId: 'lic-1', stateFile: 'model.enn.license' }) });
 * ```
 *
 * @module
 */
export type { Grant, License, LicenseTerms, OfflineGrace, UsageReport } from '../license-format/types.ts';
export { signLicense, verifyLicense, openLicense, signGrant, openGrant, signUsageReport, openUsageReport } from '../license-format/token.ts';
export { LicenseService, isMonitorAction, type LicenseServiceOptions, type LicenseRequest, type LicenseResponse, type GrantOptions } from './service.ts';
export { LicenseServer, type HttpRequest, type HttpResponse } from './server.ts';
export { LicenseStore, LICENSE_STOPPED, type SqlDb, type ModelPolicy, type MonitorAction, type AuditEntry, type LicenseRecord } from './store.ts';
export { openStore } from './open-store.ts';
export { LicenseClient, licenseServerKeyProvider, checkIn, runLicensed, saveLicenseState, type LicenseServerSource } from './client.ts';
export { createLicenseRequest, licenseFileKeyProvider, type LicenseFileSource } from './air-gap.ts';
export { EnclaveLicense, LICENSE_MSG } from '../enclave/trusted/enclave-license.ts';
export { LicenseEnforcer, type EnforcerStatus } from '../enclave/trusted/enforcer.ts';
