/**
 * The `sim` platform: INSECURE, for development and tests (docs/enclave-protocol.md §7).
 * It runs the trusted program as an ordinary process, so the host's user can read its memory,
 * its sealing secret and its quoting key. It protects nothing; it exists so the whole path —
 * attestation, key wrapping, sealing — runs byte for byte on any machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInsecureSimQuote, defaultInsecureSimDir, loadOrCreateInsecureSimChain, type InsecureSimChain } from '../attest/sim.ts';
import { randomBytes, sha256, zeroize } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { checkSealSvn, deriveSealingKey } from './seal-key.ts';
import type { Platform, PlatformOptions, ProgramIdentity } from './types.ts';
import { createFileOnce } from '../util/create-once.ts';

/** The one line every use of the sim platform prints on stderr (STYLE.md 11). */
export const SIM_WARNING = 'enclave-nn: INSECURE: simulated TEE (sim platform) — protects nothing; for development only';

/** MRSIGNER of sim quotes: a fixed, public value (there is no signing key to protect). */
const SIM_MRSIGNER = sha256(new TextEncoder().encode('enclave-nn INSECURE sim platform signer'));
const SECRET_FILE = 'seal-secret';
const SECRET_SIZE = 32;

let warned = false;

/** Prints {@link SIM_WARNING} once per process. */
export function announceSimPlatform(): void {
  if (warned) return;
  warned = true;
  process.stderr.write(SIM_WARNING + '\n');
}

/**
 * Reads the installation's simulated platform secret, creating it (32 random bytes, mode 0600)
 * on first use. Written to a temporary file and hard-linked into place, so concurrent first
 * starts agree on one secret.
 */
export function loadOrCreateSimSecret(dir: string): Uint8Array {
  const path = join(dir, SECRET_FILE);
  try {
    return readSecret(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  createFileOnce(path, randomBytes(SECRET_SIZE));
  return readSecret(path);
}

function readSecret(path: string): Uint8Array {
  const b = new Uint8Array(readFileSync(path));
  if (b.byteLength !== SECRET_SIZE) throw new EnclaveNnError('PLATFORM_SIM_SECRET', `Cannot read the sim platform secret ${path}: ${b.byteLength} bytes, expected ${SECRET_SIZE}`, { exitCode: 1 });
  return b;
}

/**
 * The sim measurement of a trusted program file: SHA-256 of its bytes (§7), what its quotes
 * report as MRENCLAVE and what a model policy names (docs/license-protocol.md §4.5).
 *
 * @example
 * ```ts
 * const mrEnclave = simMeasurement(await trustedProgramPath()); // 32 bytes
 * ```
 */
export function simMeasurement(programPath: string): Uint8Array {
  return sha256(new Uint8Array(readFileSync(programPath)));
}

/**
 * Creates the sim platform for the trusted program at `programPath`.
 *
 * @example
 * ```ts
 * const p = createSimPlatform({ programPath: fileURLToPath(import.meta.url) });
 * const quote = await p.evidence(reportDataFor(pub, nonce));
 * ```
 */
export function createSimPlatform(options: PlatformOptions): Platform {
  announceSimPlatform();
  const dir = defaultInsecureSimDir(options.home);
  const measurement = simMeasurement(options.programPath);
  const sealPolicy = options.sealPolicy ?? 'mrsigner';
  const id: ProgramIdentity = { mrSigner: SIM_MRSIGNER, isvProdId: u16(options.isvProdId ?? 1, 'isvProdId'), isvSvn: u16(options.isvSvn ?? 1, 'isvSvn') };
  let chain: InsecureSimChain | undefined;
  const keys = new Map<number, Uint8Array>();
  return {
    kind: 'sim',
    sealPolicy,
    measurement: () => measurement.slice(),
    identity: () => ({ ...id, mrSigner: id.mrSigner.slice() }),
    async evidence(reportData) {
      chain ??= loadOrCreateInsecureSimChain(dir);
      return createInsecureSimQuote({ mrEnclave: measurement, mrSigner: SIM_MRSIGNER, isvProdId: id.isvProdId, isvSvn: id.isvSvn, reportData }, chain);
    },
    sealingKey(isvSvn = id.isvSvn) {
      checkSealSvn('sim', id, isvSvn);
      // The installation secret stands in for the CPU's sealing root. Like EGETKEY, a program
      // derives the key of its own ISVSVN or a lower one (to open what an older version sealed).
      let key = keys.get(isvSvn);
      if (!key) {
        const secret = loadOrCreateSimSecret(dir);
        key = deriveSealingKey(secret, sealPolicy, sealPolicy === 'mrsigner' ? SIM_MRSIGNER : measurement, id.isvProdId, isvSvn);
        zeroize(secret);
        keys.set(isvSvn, key);
      }
      return key;
    },
  };
}

function u16(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`sim platform: ${what} must be an integer in 0..65535, got ${n}`);
  return n;
}
