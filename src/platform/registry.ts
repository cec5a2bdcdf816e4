import { EnclaveNnError } from '../errors.ts';
import type { Platform, PlatformFactory, PlatformOptions } from './types.ts';

/**
 * Platforms by name (STYLE.md 3), each loaded only when asked for. In a bundled trusted program
 * `process.env.ENCLAVE_NN_BUILD_PLATFORM` is replaced by the platform it is built for
 * (src/enclave/trusted-program.ts), so esbuild drops every other entry and the modules only it
 * imports: the gramine-sgx program holds no simulator code (docs/enclave-protocol.md §8).
 * Unbundled (the host, tests) the variable is unset and every platform is listed.
 */
export const PLATFORMS: Readonly<Record<string, () => Promise<PlatformFactory>>> = Object.freeze({
  ...(process.env.ENCLAVE_NN_BUILD_PLATFORM === undefined || process.env.ENCLAVE_NN_BUILD_PLATFORM === 'sim'
    ? { sim: async () => (await import('./sim.ts')).createSimPlatform } : {}),
  ...(process.env.ENCLAVE_NN_BUILD_PLATFORM === undefined || process.env.ENCLAVE_NN_BUILD_PLATFORM === 'gramine-sgx'
    ? { 'gramine-sgx': async () => (await import('./gramine-sgx.ts')).createGraminePlatform } : {}),
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
 * const platform = await createPlatform('sim', { programPath });
 * ```
 */
export async function createPlatform(name: string, options: PlatformOptions): Promise<Platform> {
  const load = Object.hasOwn(PLATFORMS, name) ? PLATFORMS[name] : undefined;
  if (!load) throw new EnclaveNnError('PLATFORM_UNKNOWN', `Cannot start enclave: unknown platform '${name}'; known: ${platformNames().join(', ')}`);
  return (await load())(options);
}
