import { EnclaveNnError } from '../errors.ts';
import { createSimPlatform } from './sim.ts';
import { createGraminePlatform } from './gramine-sgx.ts';
import type { Platform, PlatformFactory, PlatformOptions } from './types.ts';

/** Platforms by name (STYLE.md 3). */
export const PLATFORMS: Record<string, PlatformFactory> = {
  sim: createSimPlatform,
  'gramine-sgx': createGraminePlatform,
};

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
