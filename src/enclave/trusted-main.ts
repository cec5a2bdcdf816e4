/**
 * The trusted program's entry point (docs/enclave-protocol.md §1, §8): reads request frames
 * from stdin, answers on stdout, one request at a time. Started by the host as
 * `node trusted.js --platform sim --engine ort` (the bundled form of this file, §7).
 *
 * stdout carries only protocol frames: console output is sent to stderr so that no library
 * can corrupt (or leak into) the channel.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPlatform } from '../platform/registry.ts';
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

const { values } = parseArgs({ options: { platform: { type: 'string', default: 'sim' }, engine: { type: 'string', default: 'ort' } }, strict: true });
const enclave = new TrustedEnclave({
  platform: createPlatform(values.platform!, { programPath: fileURLToPath(import.meta.url) }),
  engine: getEngine(values.engine!),
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
