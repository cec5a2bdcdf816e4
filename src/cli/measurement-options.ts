/**
 * The measurement words `split` and `admin models add` share (docs/deploy-sgx.md, step 4):
 * `--platform sim|gramine-sgx`, `--mrenclave HEX` and `--mrsigner HEX` (each repeatable, or
 * comma-separated), `--min-svn N`. One parser, so the walkthrough's commands mean the same in both.
 */
import { EnclaveNnError } from '../errors.ts';
import type { PlatformPolicy } from '../bundle/types.ts';

/** The parseArgs options of the measurement words. */
export const MEASUREMENT_OPTIONS = {
  platform: { type: 'string' },
  mrenclave: { type: 'string', multiple: true },
  mrsigner: { type: 'string', multiple: true },
  'min-svn': { type: 'string' },
} as const;

/** The usage lines of the measurement words. */
export const MEASUREMENT_USAGE = `  --platform sim|gramine-sgx   default sim (INSECURE: any sim program; development only)
  --mrenclave HEX              an accepted MRENCLAVE (repeatable; gramine-sgx-sigstruct-view prints it)
  --mrsigner HEX               an accepted MRSIGNER (repeatable): any program by that signer
  --min-svn N                  the lowest accepted ISVSVN (sgx.isvsvn); default 0`;

/** What the words say. */
export interface Measurements {
  platform: 'sim' | 'gramine-sgx';
  mrEnclave: string[];
  mrSigner: string[];
  minSvn: number | undefined;
}

const HEX32 = /^[0-9a-f]{64}$/;

/** Reads the measurement words; bad values are usage errors naming the command and the word. */
export function readMeasurements(command: string, values: { platform?: string; mrenclave?: string[]; mrsigner?: string[]; 'min-svn'?: string }): Measurements {
  const platform = values.platform ?? 'sim';
  if (platform !== 'sim' && platform !== 'gramine-sgx') throw new EnclaveNnError('USAGE', `Cannot run '${command}': --platform must be sim or gramine-sgx, got '${platform}'`);
  const hexes = (flag: string, v: string[] | undefined) => {
    const out = [...new Set((v ?? []).flatMap((s) => s.split(',')).map((h) => h.trim().toLowerCase()))];
    for (const h of out) if (!HEX32.test(h)) throw new EnclaveNnError('USAGE', `Cannot run '${command}': ${flag} must be 32 bytes of hex, got '${h}'`);
    return out;
  };
  const s = values['min-svn'];
  if (s !== undefined && !(/^\d{1,5}$/.test(s) && Number(s) <= 0xffff)) throw new EnclaveNnError('USAGE', `Cannot run '${command}': --min-svn must be an integer in 0..65535, got '${s}'`);
  return { platform, mrEnclave: hexes('--mrenclave', values.mrenclave), mrSigner: hexes('--mrsigner', values.mrsigner), minSvn: s === undefined ? undefined : Number(s) };
}

/**
 * The bundle policy entry the words ask for. gramine-sgx needs an MRENCLAVE or an MRSIGNER (a
 * key released to any SGX program would protect nothing); sim takes none (its measurement is
 * this machine's build, and sim protects nothing anyway).
 */
export function policyEntry(command: string, m: Measurements): PlatformPolicy {
  if (m.platform === 'sim') {
    if (m.mrEnclave.length || m.mrSigner.length || m.minSvn !== undefined) throw new EnclaveNnError('USAGE', `Cannot run '${command}': --mrenclave, --mrsigner and --min-svn are for --platform gramine-sgx`);
    return { kind: 'sim', measurements: [] };
  }
  if (m.mrEnclave.length === 0 && m.mrSigner.length === 0) throw new EnclaveNnError('USAGE', `Cannot run '${command}': --platform gramine-sgx needs --mrenclave or --mrsigner (gramine-sgx-sigstruct-view prints both)`);
  return { kind: 'gramine-sgx', measurements: m.mrEnclave, ...(m.mrSigner.length ? { mrSigners: m.mrSigner } : {}), ...(m.minSvn !== undefined ? { minIsvSvn: m.minSvn } : {}) };
}
