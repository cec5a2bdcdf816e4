// Quote verification cost: medians after warm-up (not a test).
//   npx tsx bench/attest.ts            (the real-quote rows need ../shared/attestation)
import { existsSync, readFileSync } from 'node:fs';
import {
  INTEL_SGX_ROOT_CA, createInsecureSimChain, createInsecureSimQuote, parseCollateralJson, reportDataFor, verifyQuote,
} from '../src/attest/index.ts';

function median(f: () => void, runs = 101): number {
  for (let i = 0; i < 10; i++) f(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) { const s = process.hrtime.bigint(); f(); t.push(Number(process.hrtime.bigint() - s) / 1e6); }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}
const row = (name: string, ms: number) => console.log(`${name.padEnd(44)} ${ms.toFixed(3)} ms`);

const shared = new URL('../../shared/attestation/', import.meta.url);
if (existsSync(shared)) {
  const quote = new Uint8Array(readFileSync(new URL('dcap-qvl_sgx_quote.bin', shared)));
  const collateral = parseCollateralJson(readFileSync(new URL('dcap-qvl_sgx_quote_collateral.json', shared), 'utf8'));
  const at = new Date('2025-06-20T00:00:00Z');
  row('verifyQuote real quote (Intel root)', median(() => verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at, policy: {} })));
  row('verifyQuote real quote + collateral', median(() => verifyQuote(quote, {
    roots: [INTEL_SGX_ROOT_CA], at, policy: {}, collateral, tcbPolicy: { acceptedStatuses: ['ConfigurationAndSWHardeningNeeded'] },
  })));
} else console.log('(../shared/attestation absent: real-quote rows skipped)');

const chain = createInsecureSimChain();
const rd = reportDataFor(new Uint8Array(32), new Uint8Array(32));
const report = { mrEnclave: new Uint8Array(32), mrSigner: new Uint8Array(32), reportData: rd };
row('createInsecureSimQuote', median(() => createInsecureSimQuote(report, chain)));
const sim = createInsecureSimQuote(report, chain);
row('verifyQuote sim quote (warm caches)', median(() => verifyQuote(sim, { roots: [chain.root], at: new Date(), policy: { allowDebug: true, reportData: rd } })));
// Cold: a new chain and attestation key each time (no cached keys or issuer checks apply).
const cold = Array.from({ length: 40 }, () => { const c = createInsecureSimChain(); return { c, q: createInsecureSimQuote(report, c) }; });
let i = 0;
row('verifyQuote sim quote (new chain, cold caches)', median(() => { const { c, q } = cold[i++ % cold.length]!; verifyQuote(q, { roots: [c.root], at: new Date(), policy: { allowDebug: true } }); }, 29));
