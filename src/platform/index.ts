/**
 * TEE platforms: measurement, evidence and sealing keys for the trusted program
 * (docs/enclave-protocol.md §7). `sim` is INSECURE (and says so on stderr at every use).
 *
 * @example
 * ```ts
 * const platform = createPlatform('sim', { programPath });
 * const key = platform.sealingKey();
 * ```
 *
 * @module
 */
export type { Launcher, Platform, PlatformFactory, PlatformOptions, ProgramIdentity, SealPolicy } from './types.ts';
export { SEAL_POLICIES } from './types.ts';
export { PLATFORMS, createPlatform, platformNames } from './registry.ts';
export { createSimPlatform, simMeasurement, announceSimPlatform, loadOrCreateSimSecret, SIM_WARNING } from './sim.ts';
export { enclaveNnHome } from '../util/home.ts';
export { createGraminePlatform, GRAMINE_ATTESTATION_DIR, type GraminePlatformOptions } from './gramine-sgx.ts';
