import { EnclaveNnError } from '../errors.ts';
import type { VerifiedChain } from './chain.ts';
import type { Collateral, PinnedRoot, Quote, TcbVerdict } from './types.ts';

export function verifyCollateral(_q: Quote, _c: VerifiedChain, _col: Collateral, _roots: readonly PinnedRoot[], _at: Date): TcbVerdict {
  throw new EnclaveNnError('ATTEST_COLLATERAL', 'Cannot verify collateral: not implemented yet');
}
