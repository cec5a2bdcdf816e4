import { existsSync, readFileSync, statSync } from 'node:fs';
import { EnclaveNnError } from '../../errors.ts';
import {
  INTEL_SGX_ROOT_CA, defaultInsecureSimDir, loadInsecureSimChain, parseCollateralJson, parsePolicyFile, parseQuote, pinnedRoot, verifyQuote,
  type Collateral, type PinnedRoot, type Quote, type QuotePolicy, type TcbPolicy, type VerifiedQuote,
} from '../../attest/index.ts';
import { parsePemCertificates, parseCertificate } from '../../crypto/x509.ts';
import { parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn attest verify <quote.bin> [--root intel|FILE|SHA256]... [--insecure-trust-sim [DIR]]
                                 [--policy FILE] [--allow-debug] [--collateral FILE] [--at TIME] [--json]

Verifies an Intel SGX DCAP ECDSA quote v3 (docs/attestation.md) and prints its fields and the
verdict. Exit 0 only when it verifies and the policy holds; 2 otherwise, with one line on stderr
naming the failed check.

  --root               trust anchor, pinned by SHA-256: 'intel' (the default), a certificate file
                       (PEM or DER) or a fingerprint; repeatable
  --insecure-trust-sim also trust this installation's INSECURE simulated root (the sim platform;
                       DIR defaults to $ENCLAVE_NN_HOME/insecure-sim, home ~/.enclave-nn). Sim quotes protect nothing.
  --policy FILE        JSON: {"mrEnclave":[hex],"mrSigner":[hex],"isvProdId":n,"minIsvSvn":n,
                       "allowDebug":bool,"reportData":hex,"acceptedTcbStatuses":["UpToDate",…]}
  --allow-debug        accept DEBUG enclaves (their memory is readable by the host)
  --collateral FILE    DCAP collateral JSON (dcap-qvl format) to evaluate the TCB status; the
                       accepted statuses default to UpToDate
  --at TIME            verification time, ISO 8601 (default: now)
  --json               machine-readable output`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new EnclaveNnError('USAGE', `Cannot read ${what} ${path}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

/** Reads a policy file (attest/policy-file.ts checks its keys and values). */
function readPolicy(path: string): { policy: QuotePolicy; tcb: TcbPolicy } {
  return parsePolicyFile(readJson(path, 'policy'), path);
}

function readRoot(spec: string): PinnedRoot {
  if (spec === 'intel') return INTEL_SGX_ROOT_CA;
  if (/^[0-9a-fA-F:]{64,95}$/.test(spec) && !existsSync(spec)) return pinnedRoot(`root ${spec.slice(0, 16)}…`, spec);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(spec);
  } catch (e) {
    throw new EnclaveNnError('USAGE', `Cannot read root ${spec}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const text = new TextDecoder().decode(bytes);
    const der = text.includes('-----BEGIN CERTIFICATE-----') ? parsePemCertificates(text) : [bytes];
    if (der.length !== 1) throw new Error(`holds ${der.length} certificates, expected 1`);
    const cert = parseCertificate(der[0]!);
    return { name: cert.subjectCN ? `${cert.subjectCN} (${spec})` : spec, sha256: cert.sha256 };
  } catch (e) {
    throw new EnclaveNnError('USAGE', `Cannot read root ${spec}: ${(e as Error).message}`, { cause: e });
  }
}

/** `--insecure-trust-sim` takes an optional DIR: the next word, when it is an existing directory. */
function splitSimFlag(argv: string[]): { argv: string[]; simDir?: string } {
  const out: string[] = [];
  let simDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--insecure-trust-sim') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-') && existsSync(next) && statSync(next).isDirectory()) {
        simDir = next;
        i++;
      } else simDir = defaultInsecureSimDir();
    } else if (a.startsWith('--insecure-trust-sim=')) simDir = a.slice('--insecure-trust-sim='.length);
    else out.push(a);
  }
  return { argv: out, simDir };
}

function fields(q: Quote): Record<string, string | number | boolean> {
  return {
    version: q.header.version, qeSvn: q.header.qeSvn, pceSvn: q.header.pceSvn,
    mrEnclave: hex(q.body.mrEnclave), mrSigner: hex(q.body.mrSigner), isvProdId: q.body.isvProdId, isvSvn: q.body.isvSvn,
    attributes: hex(q.body.attributes), debug: q.body.debug, reportData: hex(q.body.reportData),
  };
}

function text(path: string, size: number, q: Quote, v: VerifiedQuote | undefined, at: Date): string {
  const rows: Array<[string, string]> = [
    ['quote', `${path} (${size} bytes): DCAP ECDSA quote v${q.header.version}, SGX, QE SVN ${q.header.qeSvn}, PCE SVN ${q.header.pceSvn}`],
    ['MRENCLAVE', hex(q.body.mrEnclave)],
    ['MRSIGNER', hex(q.body.mrSigner)],
    ['ISVPRODID', String(q.body.isvProdId)],
    ['ISVSVN', String(q.body.isvSvn)],
    ['ATTRIBUTES', `${hex(q.body.attributes)}${q.body.debug ? ' (DEBUG)' : ''}`],
    ['REPORTDATA', hex(q.body.reportData)],
  ];
  if (v) {
    rows.push(['PCK', `${v.pck.subjectCN} (issuer ${v.pck.issuerCN}, valid until ${v.pck.notAfter.toISOString()})`]);
    rows.push(['root', `${v.root.name} (SHA-256 ${v.root.sha256})`]);
    if (v.tcb) rows.push(['TCB', `${v.tcb.status}${v.tcb.advisoryIds.length ? ` (${v.tcb.advisoryIds.join(', ')})` : ''}; FMSPC ${v.tcb.fmspc}, TCB date ${v.tcb.tcbDate}`]);
    rows.push(['verdict', `VERIFIED at ${at.toISOString()}`]);
  }
  return rows.map(([k, val]) => `${k.padEnd(11)}${val}`).join('\n') + '\n';
}

const command: Command = {
  name: 'attest',
  summary: 'Verify an SGX DCAP quote against a pinned root, a policy and optional collateral',
  usage,
  async run(rawArgv, io) {
    const [sub, ...rest] = rawArgv;
    if (sub !== 'verify') throw new EnclaveNnError('USAGE', `Cannot run 'attest': unknown subcommand '${sub ?? ''}' (known: verify)`);
    const { argv, simDir } = splitSimFlag(rest);
    const { values, positionals } = parseCommandArgs('attest verify', argv, {
      root: { type: 'string', multiple: true }, policy: { type: 'string' }, 'allow-debug': { type: 'boolean' },
      collateral: { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' },
    });
    const path = required('attest verify', 'the quote file', positionals[0]);
    if (positionals.length > 1) throw new EnclaveNnError('USAGE', `Cannot run 'attest verify': unexpected argument '${positionals[1]}'`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      throw new EnclaveNnError('USAGE', `Cannot read quote ${path}: ${(e as Error).message}`, { cause: e });
    }
    const at = values.at === undefined ? new Date() : new Date(values.at);
    if (Number.isNaN(at.getTime())) throw new EnclaveNnError('USAGE', `Cannot run 'attest verify': --at '${values.at}' is not an ISO 8601 time`);
    const roots = (values.root ?? ['intel']).map(readRoot);
    // Trusting the sim root is the operator's explicit, loud choice (it announces itself on stderr).
    if (simDir !== undefined) roots.push(loadInsecureSimChain(simDir).root);
    const { policy, tcb } = values.policy ? readPolicy(values.policy) : { policy: {} as QuotePolicy, tcb: {} as TcbPolicy };
    const effective: QuotePolicy = values['allow-debug'] ? { ...policy, allowDebug: true } : policy;
    let collateral: Collateral | undefined;
    if (values.collateral) {
      let t: string;
      try {
        t = readFileSync(values.collateral, 'utf8');
      } catch (e) {
        throw new EnclaveNnError('USAGE', `Cannot read collateral ${values.collateral}: ${(e as Error).message}`, { cause: e });
      }
      collateral = parseCollateralJson(t);
    }
    let parsed: Quote | undefined;
    try {
      parsed = parseQuote(bytes);
    } catch {
      /* verifyQuote reports it below */
    }
    let verified: VerifiedQuote;
    try {
      verified = verifyQuote(bytes, { roots, at, policy: effective, collateral, tcbPolicy: tcb });
    } catch (e) {
      if (!(e instanceof EnclaveNnError)) throw e;
      if (values.json) io.stdout(JSON.stringify({ verdict: 'rejected', code: e.code, message: e.message, at: at.toISOString(), quote: parsed && fields(parsed) }, null, 2) + '\n');
      else if (parsed) io.stdout(text(path, bytes.length, parsed, undefined, at));
      throw new EnclaveNnError(e.code, `REJECTED (${e.code}): ${e.message}`, { cause: e, exitCode: 2 });
    }
    if (values.json) {
      io.stdout(JSON.stringify({
        verdict: 'verified', at: at.toISOString(), quote: fields(verified.quote), root: verified.root, pck: verified.pck, tcb: verified.tcb,
      }, null, 2) + '\n');
    } else io.stdout(text(path, bytes.length, verified.quote, verified, at));
    return 0;
  },
};
export default command;
