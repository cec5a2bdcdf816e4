/**
 * The `gramine-sgx` platform: the trusted program running as a Gramine SGX enclave
 * (docs/deploy-sgx.md). Everything goes through Gramine's `/dev/attestation` pseudo-files
 * (Gramine docs, "Attestation and Secret Provisioning" → "/dev/attestation"):
 *
 * - `attestation_type` reads `dcap` when the manifest sets `sgx.remote_attestation = "dcap"`;
 *   anything else means no DCAP quotes, so we refuse to start rather than produce no evidence.
 * - evidence: write 64 bytes to `user_report_data`, then read `quote` (an SGX DCAP ECDSA quote
 *   v3 whose REPORTDATA is those 64 bytes, signed by the platform's quoting enclave).
 * - sealing key: `keys/_sgx_mrenclave` (16 bytes, EGETKEY with MRENCLAVE policy: only this
 *   exact enclave on this CPU derives it), stretched to 32 bytes with HKDF.
 * - measurement: MRENCLAVE, read from a quote of our own.
 *
 * The root is configurable (`ENCLAVE_NN_ATTESTATION_DIR`, `attestationDir`) so tests can run
 * this platform against a folder that imitates `/dev/attestation` serving recorded real quotes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseQuote } from '../attest/quote.ts';
import { hkdfSha256, LABEL_SEAL } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import type { Platform, PlatformOptions } from './types.ts';

/** Gramine's attestation pseudo-filesystem. */
export const GRAMINE_ATTESTATION_DIR = '/dev/attestation';

/** Options beyond the common ones. */
export interface GraminePlatformOptions extends PlatformOptions {
  /** @defaultValue `$ENCLAVE_NN_ATTESTATION_DIR` or `/dev/attestation` */
  attestationDir?: string;
}

function readPseudo(dir: string, name: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(join(dir, name)));
  } catch (e) {
    throw new EnclaveNnError('PLATFORM_GRAMINE', `Cannot use the gramine-sgx platform: reading ${join(dir, name)} failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is this running inside gramine-sgx with sgx.remote_attestation = "dcap"?`, { cause: e, exitCode: 1 });
  }
}

/**
 * Creates the gramine-sgx platform. Throws PLATFORM_GRAMINE when `/dev/attestation` is missing or
 * its attestation type is not `dcap`.
 */
export function createGraminePlatform(options: GraminePlatformOptions): Platform {
  const dir = options.attestationDir ?? process.env.ENCLAVE_NN_ATTESTATION_DIR ?? GRAMINE_ATTESTATION_DIR;
  const type = new TextDecoder().decode(readPseudo(dir, 'attestation_type')).trim();
  if (type !== 'dcap') {
    throw new EnclaveNnError('PLATFORM_GRAMINE', `Cannot use the gramine-sgx platform: ${join(dir, 'attestation_type')} reads '${type}', expected 'dcap' (set sgx.remote_attestation = "dcap" in the manifest)`, { exitCode: 1 });
  }
  // One evidence request at a time: user_report_data → quote is a two-step exchange on shared
  // pseudo-files, so interleaving two requests could return a quote over the other's data.
  let queue: Promise<unknown> = Promise.resolve();
  const quoteFor = (reportData: Uint8Array): Uint8Array => {
    if (reportData.length !== 64) throw new RangeError(`gramine-sgx evidence: REPORTDATA must be 64 bytes, got ${reportData.length}`);
    writeFileSync(join(dir, 'user_report_data'), reportData);
    return readPseudo(dir, 'quote');
  };
  let mrEnclave: Uint8Array | undefined;
  let sealKey: Uint8Array | undefined;
  return {
    kind: 'gramine-sgx',
    measurement() {
      // MRENCLAVE is what the CPU measured when loading us; Gramine exposes it only inside a
      // report or quote, so read it from a quote over zero REPORTDATA.
      mrEnclave ??= parseQuote(quoteFor(new Uint8Array(64))).body.mrEnclave;
      return mrEnclave.slice();
    },
    evidence(reportData) {
      const run = queue.then(() => quoteFor(reportData));
      queue = run.catch(() => undefined);
      return run;
    },
    sealingKey() {
      if (!sealKey) {
        const raw = readPseudo(dir, 'keys/_sgx_mrenclave');
        if (raw.length !== 16) throw new EnclaveNnError('PLATFORM_GRAMINE', `Cannot derive the sealing key: keys/_sgx_mrenclave has ${raw.length} bytes, expected 16`, { exitCode: 1 });
        // HKDF stretches the 128-bit SGX seal key to the 256-bit key the sealing AEAD takes;
        // the label keeps it apart from any other use of the same hardware key.
        sealKey = hkdfSha256(raw, new Uint8Array(0), [LABEL_SEAL, new TextEncoder().encode('gramine-sgx/_sgx_mrenclave')], 32);
        raw.fill(0);
      }
      return sealKey;
    },
  };
}
