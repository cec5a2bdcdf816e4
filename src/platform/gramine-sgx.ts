/**
 * The `gramine-sgx` platform: the trusted program running as a Gramine SGX enclave
 * (docs/deploy-sgx.md). Everything goes through Gramine's `/dev/attestation` pseudo-files
 * (Gramine docs, "Attestation and Secret Provisioning" → "/dev/attestation"):
 *
 * - `attestation_type` reads `dcap` when the manifest sets `sgx.remote_attestation = "dcap"`;
 *   anything else means no DCAP quotes, so we refuse to start rather than produce no evidence.
 * - evidence: write 64 bytes to `user_report_data`, then read `quote` (an SGX DCAP ECDSA quote
 *   v3 whose REPORTDATA is those 64 bytes, signed by the platform's quoting enclave).
 * - sealing key: `keys/_sgx_mrsigner` by default (16 bytes, EGETKEY with the MRSIGNER policy:
 *   every enclave by the same signer with the same ISVPRODID and ISVSVN on this CPU derives it,
 *   so an upgrade of Node, onnxruntime or our code keeps sealed state), or `keys/_sgx_mrenclave`
 *   (only this exact enclave), stretched to 32 bytes with HKDF binding the policy, the identity,
 *   ISVPRODID and ISVSVN (seal-key.ts). Gramine derives both at the enclave's own ISVSVN and
 *   CPUSVN (pal/src/host/linux-sgx/enclave_framework.c, `sgx_get_seal_key`) and exposes no key
 *   of a lower version: after `sgx.isvsvn` is raised, blobs of the old version cannot be opened
 *   here (docs/deploy-sgx.md, "Upgrades").
 * - measurement, MRSIGNER, ISVPRODID, ISVSVN: read from a quote of our own (the CPU writes them
 *   from the signed SIGSTRUCT; the host cannot change them).
 *
 * The root is configurable (`ENCLAVE_NN_ATTESTATION_DIR`, `attestationDir`) so tests can run
 * this platform against a folder that imitates `/dev/attestation` serving recorded real quotes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseQuote } from '../attest/quote.ts';
import { zeroize } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { checkSealSvn, deriveSealingKey } from './seal-key.ts';
import type { Platform, PlatformOptions, ProgramIdentity } from './types.ts';

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
  let self: (ProgramIdentity & { mrEnclave: Uint8Array }) | undefined;
  // MRENCLAVE, MRSIGNER, ISVPRODID and ISVSVN are what the CPU measured and read from SIGSTRUCT
  // when loading us; Gramine exposes them only inside a report or quote, so read them from a
  // quote over zero REPORTDATA.
  const own = () => (self ??= parseQuote(quoteFor(new Uint8Array(64))).body);
  const sealPolicy = options.sealPolicy ?? 'mrsigner';
  let sealKey: Uint8Array | undefined;
  return {
    kind: 'gramine-sgx',
    sealPolicy,
    measurement: () => own().mrEnclave.slice(),
    identity: () => ({ mrSigner: own().mrSigner.slice(), isvProdId: own().isvProdId, isvSvn: own().isvSvn }),
    evidence(reportData) {
      const run = queue.then(() => quoteFor(reportData));
      queue = run.catch(() => undefined);
      return run;
    },
    sealingKey(isvSvn = own().isvSvn) {
      const id = own();
      checkSealSvn('gramine-sgx', id, isvSvn);
      if (isvSvn !== id.isvSvn) {
        throw new EnclaveNnError('PLATFORM_SEAL_SVN', `Cannot derive the gramine-sgx sealing key for security version ${isvSvn}: Gramine gives only the key of this enclave's own version ${id.isvSvn} (keys/_sgx_${sealPolicy}); provision this model again from the license server`, { exitCode: 1 });
      }
      if (!sealKey) {
        const name = `keys/_sgx_${sealPolicy}`;
        const raw = readPseudo(dir, name);
        if (raw.length !== 16) throw new EnclaveNnError('PLATFORM_GRAMINE', `Cannot derive the sealing key: ${name} has ${raw.length} bytes, expected 16`, { exitCode: 1 });
        sealKey = deriveSealingKey(raw, sealPolicy, sealPolicy === 'mrsigner' ? id.mrSigner : id.mrEnclave, id.isvProdId, isvSvn);
        zeroize(raw);
      }
      return sealKey;
    },
  };
}
