/**
 * The trusted program's entry point (docs/enclave-protocol.md §1, §8): reads request frames
 * from stdin, answers on stdout, one request at a time. Started by the host as
 * `node trusted.cjs --platform sim --engine ort` (the bundled form of this file, §7); under
 * Gramine the manifest's `loader.argv` fixes the arguments (docs/deploy-sgx.md).
 *
 * Arguments: `--platform NAME`, `--engine NAME`, `--seal mrsigner|mrenclave` (what sealed state
 * is bound to, §7.3), `--ort-threads N` (onnxruntime's intra-op threads; unset = one per core).
 *
 * stdout carries only protocol frames: console output is sent to stderr so that no library
 * can corrupt (or leak into) the channel.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPlatform } from '../platform/registry.ts';
import { SEAL_POLICIES, type SealPolicy } from '../platform/types.ts';
import { getEngine } from './engines/index.ts';
import { TrustedEnclave } from './trusted/enclave-state.ts';
import { serve, stdio } from './trusted/serve-loop.ts';

console.log = console.info = console.debug = console.warn = console.error;

// A crash must not print an engine's error text (it may name tail nodes) to the host's stderr:
// say only the error's class, then die (the host reports ENCLAVE_DIED and restarts).
const die = (e: unknown) => {
  process.stderr.write(`enclave-nn enclave: internal error (${e instanceof Error ? e.name : typeof e}); exiting\n`);
  process.exit(70);
};
process.on('uncaughtException', die);
process.on('unhandledRejection', die);

/** Bad arguments: one line naming the argument (no secret is known yet), exit 64 (usage). */
const badUsage = (message: string): never => {
  process.stderr.write(`enclave-nn enclave: ${message}\n`);
  process.exit(64);
};

const { values } = parseArgs({
  options: { platform: { type: 'string', default: 'sim' }, engine: { type: 'string', default: 'ort' }, seal: { type: 'string', default: 'mrsigner' }, 'ort-threads': { type: 'string' } },
  strict: true,
});
if (!(SEAL_POLICIES as readonly string[]).includes(values.seal!)) badUsage(`Cannot start: --seal must be one of ${SEAL_POLICIES.join(', ')}, got '${values.seal}'`);
const threads = values['ort-threads'];
// 1..999 = engines/threads.ts MAX_ORT_THREADS, written out: importing it would add that file (and node:os) to the trusted program.
if (threads !== undefined && !/^[1-9]\d{0,2}$/.test(threads)) badUsage(`Cannot start: --ort-threads must be an integer in 1..999, got '${threads}'`);

const enclave = new TrustedEnclave({
  platform: createPlatform(values.platform!, { programPath: fileURLToPath(import.meta.url), sealPolicy: values.seal as SealPolicy }),
  engine: getEngine(values.engine!),
  engineOptions: threads === undefined ? {} : { intraOpThreads: Number(threads) },
});

// The hot loop (§1 "Serving loop"): blocking reads of fd 0, no event loop between a request's
// arrival and its answer. Engines that answer synchronously (ort's native session) keep the
// whole FORWARD on this stack; an asynchronous one (wasm, the ort fallback) is awaited, which
// lets the event loop run only while that engine works.
// The host gone (EPIPE on an answer) ends the process like the end of its input does (§4.8).
// After HELLO, the engine package loads (a pre-spawned enclave has it before its bundle, §1).
const engine = getEngine(values.engine!);
serve(enclave, stdio(), { afterHello: () => engine.warm?.() }).then(() => process.exit(0), (e: unknown) => ((e as NodeJS.ErrnoException).code === 'EPIPE' ? process.exit(0) : die(e)));
