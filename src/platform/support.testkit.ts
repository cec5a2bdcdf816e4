/** Test helpers for platforms (not part of the trusted program). */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
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

/** A live imitation of /dev/attestation; see {@link serveDevAttestation}. */
export interface LiveDevAttestation {
  /** The folder to point `ENCLAVE_NN_ATTESTATION_DIR` at. */
  dir: string;
  /** How many quotes it has served. */
  readonly served: number;
  /** Stops serving (unblocks a pending exchange). */
  close(): Promise<void>;
}

/**
 * A folder that answers like Gramine's /dev/attestation for a trusted program in ANOTHER process:
 * `user_report_data` and `quote` are named pipes, so each 64 bytes the program writes are
 * answered with a quote over exactly them, made by `makeQuote` (e.g. signed by the sim chain,
 * since no SGX CPU signs here). The exchange is strictly alternating: the program's write of
 * `user_report_data` completes only once this side reads it, and its read of `quote` only once
 * this side writes and closes it. `keys/` holds `keys`. The program must not be in this process
 * (its blocking reads would stop this side's event loop).
 */
export function serveDevAttestation(makeQuote: (reportData: Uint8Array) => Uint8Array, keys: ImitatedSealKeys): LiveDevAttestation {
  const dir = mkdtempSync(join(tmpdir(), 'enn-dev-attestation-live-'));
  writeFileSync(join(dir, 'attestation_type'), 'dcap\n');
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', '_sgx_mrenclave'), keys._sgx_mrenclave);
  writeFileSync(join(dir, 'keys', '_sgx_mrsigner'), keys._sgx_mrsigner);
  const rdPath = join(dir, 'user_report_data');
  const quotePath = join(dir, 'quote');
  execFileSync('mkfifo', ['-m', '0600', rdPath, quotePath]);
  let stopped = false;
  let served = 0;
  const loop = (async () => {
    while (!stopped) {
      const rd = new Uint8Array(await readFile(rdPath));
      if (stopped) return;
      let quote: Uint8Array;
      try {
        quote = makeQuote(rd);
      } catch {
        quote = new Uint8Array(0); // the program's quote parser then refuses it
      }
      await writeFile(quotePath, quote);
      served++;
    }
  })().catch(() => undefined);
  return {
    dir,
    get served() { return served; },
    async close() {
      stopped = true;
      // Wake whichever side of the exchange is waiting in open(): a writer to user_report_data
      // (if this side waits to read it), a reader of quote (if this side waits to write it).
      for (const [path, flags] of [[rdPath, constants.O_WRONLY], [quotePath, constants.O_RDONLY]] as const) {
        try { closeSync(openSync(path, flags | constants.O_NONBLOCK)); } catch { /* nobody waiting on that side */ }
      }
      await loop;
    },
  };
}
