import { EnclaveNnError } from '../errors.ts';
import { createGraminePlatform } from './gramine-sgx.ts';
import { createSimPlatform } from './sim.ts';
import type { Platform, PlatformFactory, PlatformOptions } from './types.ts';

/**
 * Platforms by name (STYLE.md 3). In a bundled trusted program
 * `process.env.ENCLAVE_NN_BUILD_PLATFORM` is replaced by the platform it is built for
 * (src/enclave/trusted-program.ts): the conditions below fold to constants, esbuild drops the
 * other platform's entry and, with it, every module only that platform uses — the gramine-sgx
 * program holds no simulator code (docs/enclave-protocol.md §8). Unbundled (the host, tests)
 * the variable is unset and every platform is listed.
 */
export const PLATFORMS: Readonly<Record<string, PlatformFactory>> = Object.freeze({
  ...(process.env.ENCLAVE_NN_BUILD_PLATFORM === undefined || process.env.ENCLAVE_NN_BUILD_PLATFORM === 'sim' ? { sim: createSimPlatform } : {}),
  ...(process.env.ENCLAVE_NN_BUILD_PLATFORM === undefined || process.env.ENCLAVE_NN_BUILD_PLATFORM === 'gramine-sgx' ? { 'gramine-sgx': createGraminePlatform } : {}),
});

/** The names a host may ask for (`--platform`). */
export function platformNames(): string[] {
  return Object.keys(PLATFORMS);
}

/**
 * Creates the platform `name`; an unknown name throws `PLATFORM_UNKNOWN` listing the known ones.
 *
 * @example
 * ```ts
 * const platform = createPlatform('sim', { programPath });
 * ```
 */
export function createPlatform(name: string, options: PlatformOptions): Platform {
  const f = Object.hasOwn(PLATFORMS, name) ? PLATFORMS[name] : undefined;
  if (!f) throw new EnclaveNnError('PLATFORM_UNKNOWN', `Cannot start enclave: unknown platform '${name}'; known: ${platformNames().join(', ')}`);
  return f(options);
}
