/**
 * What every platform binds into its sealing key (docs/enclave-protocol.md §7.3), so that the
 * derivation is written once: the seal policy, the identity it names (MRSIGNER or the
 * measurement), the product id and the security version.
 */
import { hkdfSha256, LABEL_SEAL } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import type { ProgramIdentity, SealPolicy } from './types.ts';

const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);

/**
 * HKDF-SHA256 of the platform's root sealing secret (sim: the installation secret; SGX: the
 * EGETKEY key Gramine exposes) to the 32-byte key the sealing AEAD takes. The info binds the
 * policy and the identity (another signer, or another program under `mrenclave`, derives another
 * key), ISVPRODID (another product of the same signer cannot open our blobs) and ISVSVN (a blob
 * sealed at one security version opens only with the key of that version).
 */
export function deriveSealingKey(root: Uint8Array, policy: SealPolicy, boundTo: Uint8Array, isvProdId: number, isvSvn: number): Uint8Array {
  return hkdfSha256(root, new Uint8Array(0), [LABEL_SEAL, new TextEncoder().encode(policy), boundTo, u16(isvProdId), u16(isvSvn)], 32);
}

/**
 * Refuses a key for a security version above the program's own (SGX EGETKEY refuses it too): a
 * blob from a newer program must not open in an older, possibly vulnerable one.
 */
export function checkSealSvn(kind: string, id: ProgramIdentity, isvSvn: number): void {
  if (!Number.isInteger(isvSvn) || isvSvn < 0 || isvSvn > 0xffff) throw new RangeError(`sealing key: ISVSVN must be an integer in 0..65535, got ${isvSvn}`);
  if (isvSvn > id.isvSvn) {
    throw new EnclaveNnError('PLATFORM_SEAL_SVN', `Cannot derive the ${kind} sealing key for security version ${isvSvn}: this program is version ${id.isvSvn}, and a key of a newer version is never given to an older one`, { exitCode: 1 });
  }
}
