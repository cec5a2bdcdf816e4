/**
 * Test-only access to the real SGX material in ../shared/attestation (never copied into the
 * repository). Tests skip with {@link SKIP_REASON} when it is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { EnclaveNnError } from '../errors.ts';

/** /work/shared/attestation, reached from the repository as ../shared/attestation. */
export const SHARED_ATTESTATION_DIR = fileURLToPath(new URL('../../../shared/attestation', import.meta.url));

/** False when the material is present; otherwise the reason to skip. */
export const SKIP_REASON: false | string = existsSync(SHARED_ATTESTATION_DIR) ? false : 'needs ../shared/attestation (real SGX quotes)';

/** Reads a file of the shared attestation material. */
export function sharedFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${SHARED_ATTESTATION_DIR}/${name}`));
}

/** The documented expectations of each real quote (../shared/attestation/PROVENANCE.md). */
export const REAL_QUOTES = [
  {
    file: 'dcap-qvl_sgx_quote.bin',
    mrEnclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
    mrSigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
    isvProdId: 0, isvSvn: 0, debug: false,
    reportData: Buffer.concat([Buffer.from('Hello, world!'), Buffer.alloc(51)]).toString('hex'),
  },
  {
    file: 'occlum_quote.bin',
    mrEnclave: '9c90fd81f6e9fe64b46b14f0623523a52d6a5678482988c408f6adffe6301e2c',
    mrSigner: '6d5ead54bfbe9494e1cd9042bb7c25d74c597d4700e332b1b3168a60712c1e02',
    isvProdId: 4000, isvSvn: 5000, debug: false,
    reportData: '00'.repeat(64),
  },
  {
    file: 'automata_quote_sgx_debug.bin',
    mrEnclave: 'a39d532e6ac9fe8ad9418851bbe26e1dee7408006505fce8580b511b97e704b4',
    mrSigner: undefined, isvProdId: undefined, isvSvn: undefined, debug: true, reportData: undefined,
  },
] as const;

/** A time within every real quote's certificate validity. */
export const REAL_QUOTE_TIME = new Date('2025-06-20T00:00:00Z');

/** The EnclaveNnError code `fn` throws, or 'ACCEPTED' when it returns (tests assert either). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EnclaveNnError, `expected EnclaveNnError, got ${String(e)}`);
    return e.code;
  }
  return 'ACCEPTED';
}
