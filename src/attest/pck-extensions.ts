/**
 * Intel's SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1), parsed from DER
 * ("Intel SGX PCK Certificate and CRL Profile", §1.3.5). docs/attestation.md §5.3.
 */
import { EnclaveNnError } from '../errors.ts';
import { Tag, children, decode, decodeOid, decodeUnsigned, expectTag } from '../crypto/der.ts';
import type { Certificate } from '../crypto/x509.ts';

/** The SGX extension's OID. */
export const OID_SGX_EXTENSIONS = '1.2.840.113741.1.13.1';

/** The fields of the SGX extension that TCB evaluation needs. */
export interface PckExtensions {
  /** 6 bytes: Family-Model-Stepping-Platform-CustomSKU, selects the TCB Info. */
  readonly fmspc: Uint8Array;
  /** 2 bytes: the Provisioning Certification Enclave's id. */
  readonly pceId: Uint8Array;
  /** The 16 SGX TCB component SVNs (…13.1.2.1 … .16). */
  readonly tcbComponents: readonly number[];
  /** PCESVN (…13.1.2.17). */
  readonly pceSvn: number;
  /** CPUSVN (…13.1.2.18), 16 bytes. */
  readonly cpuSvn: Uint8Array;
}

function fail(why: string): never {
  throw new EnclaveNnError('ATTEST_PCK_EXTENSION', `Cannot read the PCK certificate's SGX extension: ${why}`);
}

function smallUint(v: Uint8Array, max: number, what: string): number {
  const n = decodeUnsigned(v);
  if (n > BigInt(max)) fail(`${what} ${n} exceeds ${max}`);
  return Number(n);
}

/**
 * Parses the SGX extension of a PCK leaf certificate. Each field MUST appear once;
 * `ATTEST_PCK_EXTENSION` otherwise.
 */
export function parsePckExtensions(cert: Certificate): PckExtensions {
  const ext = cert.extensions.get(OID_SGX_EXTENSIONS);
  if (!ext) fail('it is absent');
  try {
    const fields = new Map<string, Uint8Array | { tag: number; value: Uint8Array; raw: Uint8Array }>();
    for (const entry of children(expectTag(decode(ext.value), Tag.SEQUENCE, 'SGX extensions'))) {
      const [id, value, ...rest] = children(expectTag(entry, Tag.SEQUENCE, 'SGX extension entry'));
      if (!value || rest.length) fail('an entry is not (OID, value)');
      const oid = decodeOid(expectTag(id, Tag.OID, 'entry id').value);
      if (fields.has(oid)) fail(`${oid} appears twice`);
      fields.set(oid, value);
    }
    const get = (n: number, tag: number, size?: number): Uint8Array => {
      const v = fields.get(`${OID_SGX_EXTENSIONS}.${n}`) as { tag: number; value: Uint8Array; raw: Uint8Array } | undefined;
      if (!v) fail(`${OID_SGX_EXTENSIONS}.${n} is absent`);
      expectTag(v, tag, `${OID_SGX_EXTENSIONS}.${n}`);
      if (size !== undefined && v.value.length !== size) fail(`${OID_SGX_EXTENSIONS}.${n} is ${v.value.length} bytes, expected ${size}`);
      return tag === Tag.SEQUENCE ? v.raw : v.value;
    };
    const fmspc = get(4, Tag.OCTET_STRING, 6);
    const pceId = get(3, Tag.OCTET_STRING, 2);
    const tcbOid = `${OID_SGX_EXTENSIONS}.2`;
    const tcb = new Map<string, { tag: number; value: Uint8Array }>();
    for (const entry of children(decode(get(2, Tag.SEQUENCE)))) {
      const [id, value, ...rest] = children(expectTag(entry, Tag.SEQUENCE, 'TCB entry'));
      if (!value || rest.length) fail('a TCB entry is not (OID, value)');
      const oid = decodeOid(expectTag(id, Tag.OID, 'TCB entry id').value);
      if (tcb.has(oid)) fail(`${oid} appears twice`);
      tcb.set(oid, value);
    }
    const tcbField = (n: number, tag: number) => {
      const v = tcb.get(`${tcbOid}.${n}`);
      if (!v) fail(`${tcbOid}.${n} is absent`);
      return expectTag(v as never, tag, `${tcbOid}.${n}`).value;
    };
    const tcbComponents = Array.from({ length: 16 }, (_, i) => smallUint(tcbField(i + 1, Tag.INTEGER), 255, `TCB component ${i + 1}`));
    const pceSvn = smallUint(tcbField(17, Tag.INTEGER), 0xffff, 'PCESVN');
    const cpuSvn = tcbField(18, Tag.OCTET_STRING);
    if (cpuSvn.length !== 16) fail('CPUSVN is not 16 bytes');
    return { fmspc, pceId, tcbComponents, pceSvn, cpuSvn };
  } catch (e) {
    if (e instanceof EnclaveNnError) throw e;
    fail((e as Error).message);
  }
}
