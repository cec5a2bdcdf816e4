/** Test helpers for platforms (not part of the trusted program). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes, randomBytes, sha256 } from '../crypto/index.ts';

/** The 16-byte seal keys a folder imitating /dev/attestation serves under `keys/`. */
export interface ImitatedSealKeys {
  _sgx_mrenclave: Uint8Array;
  _sgx_mrsigner: Uint8Array;
}

/**
 * A folder laid out like Gramine's /dev/attestation, serving `quote` (a fixed quote: its
 * REPORTDATA does not follow what is written to `user_report_data`) and the seal keys `keys`
 * (random unless given; {@link imitatedSgxSealKeys} derives them as SGX does).
 */
export function imitateDevAttestation(quote: Uint8Array, type = 'dcap', keys?: ImitatedSealKeys): string {
  const dir = mkdtempSync(join(tmpdir(), 'enn-dev-attestation-'));
  writeFileSync(join(dir, 'attestation_type'), type + '\n');
  writeFileSync(join(dir, 'user_report_data'), new Uint8Array(64));
  writeFileSync(join(dir, 'quote'), quote);
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', '_sgx_mrenclave'), keys?._sgx_mrenclave ?? randomBytes(16));
  writeFileSync(join(dir, 'keys', '_sgx_mrsigner'), keys?._sgx_mrsigner ?? randomBytes(16));
  return dir;
}

/**
 * Seal keys as EGETKEY derives them on one CPU (`cpuSecret` stands for its fused root): the
 * MRENCLAVE key from MRENCLAVE, the MRSIGNER key from MRSIGNER, and both from ISVPRODID and
 * ISVSVN (Gramine asks at the enclave's own ISVSVN), so the imitation changes keys exactly
 * when real SGX would.
 */
export function imitatedSgxSealKeys(cpuSecret: Uint8Array, id: { mrEnclave: Uint8Array; mrSigner: Uint8Array; isvProdId: number; isvSvn: number }): ImitatedSealKeys {
  const tail = Uint8Array.of(id.isvProdId >> 8, id.isvProdId & 0xff, id.isvSvn >> 8, id.isvSvn & 0xff);
  const key = (policy: number, identity: Uint8Array) => sha256(concatBytes(cpuSecret, Uint8Array.of(policy), identity, tail)).slice(0, 16);
  return { _sgx_mrenclave: key(1, id.mrEnclave), _sgx_mrsigner: key(2, id.mrSigner) };
}
