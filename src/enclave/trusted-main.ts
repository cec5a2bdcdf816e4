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
import { FrameReader, ProtocolError, type Frame } from '../enclave-protocol/index.ts';
import { TrustedEnclave, badFrameResponse } from './trusted/enclave-state.ts';

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
if (threads !== undefined && !/^[1-9]\d{0,2}$/.test(threads)) badUsage(`Cannot start: --ort-threads must be an integer in 1..999, got '${threads}'`);

const enclave = new TrustedEnclave({
  platform: createPlatform(values.platform!, { programPath: fileURLToPath(import.meta.url), sealPolicy: values.seal as SealPolicy }),
  engine: getEngine(values.engine!),
  engineOptions: threads === undefined ? {} : { intraOpThreads: Number(threads) },
});

const reader = new FrameReader();
const queue: Frame[] = [];
let busy = false;
let ended = false;

/** One write per frame: the host then wakes up once per answer, not once per part. */
function write(parts: Uint8Array[]): void {
  process.stdout.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

async function finish(code: number): Promise<never> {
  await enclave.shutdown();
  // stdout to a pipe is synchronous on Linux; wait for the stream anyway (other platforms).
  process.stdout.write('', () => process.exit(code));
  return new Promise<never>(() => undefined);
}

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const { response, exit } = await enclave.handle(queue.shift()!);
    write(response);
    if (exit) await finish(0);
  }
  busy = false;
  if (ended) await finish(0); // end of input (§4.8), after answering what arrived before it
}

process.stdin.on('data', (chunk: Buffer) => {
  let frames: Frame[];
  try {
    frames = reader.push(chunk);
  } catch (e) {
    // §6 BAD_FRAME: the stream cannot be resynchronised; answer (id 0) and leave.
    queue.length = 0;
    write(badFrameResponse(e instanceof ProtocolError ? e : new ProtocolError('BAD_FRAME', 'Cannot read frame')));
    process.stdin.pause();
    void finish(0);
    return;
  }
  queue.push(...frames);
  void drain();
});
process.stdin.on('end', () => {
  // A truncated frame (reader.pending) or a clean end: both end the enclave (§6).
  ended = true;
  void drain();
});
