/** Test helpers for platforms (not part of the trusted program). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../crypto/index.ts';

/** A folder laid out like Gramine's /dev/attestation, serving `quote`. */
export function imitateDevAttestation(quote: Uint8Array, type = 'dcap'): string {
  const dir = mkdtempSync(join(tmpdir(), 'enn-dev-attestation-'));
  writeFileSync(join(dir, 'attestation_type'), type + '\n');
  writeFileSync(join(dir, 'user_report_data'), new Uint8Array(64));
  writeFileSync(join(dir, 'quote'), quote);
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', '_sgx_mrenclave'), randomBytes(16));
  return dir;
}

