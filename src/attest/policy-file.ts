/**
 * The attestation policy file that `enclave-nn attest verify --policy` reads (docs/attestation.md §8).
 * @module
 */
import { EnclaveNnError } from '../errors.ts';
import type { QuotePolicy, TcbPolicy, TcbStatus } from './types.ts';

/**
 * Checks a parsed policy file (docs/attestation.md §8: the keys of `QuotePolicy` plus
 * `acceptedTcbStatuses`) and returns the policies it names. Unknown keys are refused so that a
 * typo cannot silently widen the policy. Throws `USAGE` naming `path` and the bad key.
 *
 * @example
 * ```ts
 * const { policy, tcb } = parsePolicyFile(JSON.parse(text), 'policy.json');
 * verifyQuote(quote, { roots, at: new Date(), policy, tcbPolicy: tcb });
 * ```
 */
export function parsePolicyFile(json: unknown, path: string): { policy: QuotePolicy; tcb: TcbPolicy } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new EnclaveNnError('USAGE', `Cannot read policy ${path}: expected a JSON object`);
  const j = json as Record<string, unknown>;
  const known = new Set(['mrEnclave', 'mrSigner', 'isvProdId', 'minIsvSvn', 'allowDebug', 'reportData', 'acceptedTcbStatuses']);
  for (const k of Object.keys(j)) if (!known.has(k)) throw new EnclaveNnError('USAGE', `Cannot read policy ${path}: unknown key '${k}' (known: ${[...known].join(', ')})`);
  const list = (k: string): string[] | undefined => {
    const v = j[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new EnclaveNnError('USAGE', `Cannot read policy ${path}: ${k} must be a list of strings`);
    return v as string[];
  };
  const int = (k: string): number | undefined => {
    const v = j[k];
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff) throw new EnclaveNnError('USAGE', `Cannot read policy ${path}: ${k} must be an integer 0..65535`);
    return v as number;
  };
  if (j['allowDebug'] !== undefined && typeof j['allowDebug'] !== 'boolean') throw new EnclaveNnError('USAGE', `Cannot read policy ${path}: allowDebug must be true or false`);
  let reportData: Uint8Array | undefined;
  if (j['reportData'] !== undefined) {
    if (typeof j['reportData'] !== 'string' || !/^[0-9a-fA-F]{128}$/.test(j['reportData'])) throw new EnclaveNnError('USAGE', `Cannot read policy ${path}: reportData must be 64 bytes of hex`);
    reportData = new Uint8Array(Buffer.from(j['reportData'], 'hex'));
  }
  const policy: QuotePolicy = {
    mrEnclave: list('mrEnclave'), mrSigner: list('mrSigner'), isvProdId: int('isvProdId'), minIsvSvn: int('minIsvSvn'),
    allowDebug: j['allowDebug'] as boolean | undefined, reportData,
  };
  const statuses = list('acceptedTcbStatuses') as TcbStatus[] | undefined;
  return { policy, tcb: statuses ? { acceptedStatuses: statuses } : {} };
}
