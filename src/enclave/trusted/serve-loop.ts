/**
 * The trusted program's serving loop (docs/enclave-protocol.md §1 "Serving loop"): blocking
 * reads of request frames from fd 0, one answer per request written to fd 1 with one write each.
 * No event loop sits between a request's bytes arriving and its answer leaving: the read blocks
 * in the kernel (the process sleeps, as it did in epoll), and an engine that answers
 * synchronously keeps the whole FORWARD on this stack.
 */
import { readSync, writeSync } from 'node:fs';
import { FrameReader, ProtocolError } from '../../enclave-protocol/index.ts';
import { badFrameResponse, type TrustedEnclave } from './enclave-state.ts';

/** The two ends the loop talks through (fd 0 and fd 1; tests pass their own). */
export interface FrameIo {
  /** Reads at most `into.byteLength` bytes, blocking until at least one is there; 0 = end of input. */
  read(into: Uint8Array): number;
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): void;
}

/** Bytes read per system call: the size of a pipe's buffer on Linux. */
const READ_SIZE = 64 * 1024;

/** Options of {@link serve}. */
export interface ServeOptions {
  /**
   * Called once, after the HELLO answer is written: work the enclave does before it needs it
   * (loading the engine), while the host attests and provisions. Its errors are ignored here:
   * they recur, reported, where the work is needed.
   */
  afterHello?: () => void;
}

/**
 * Serves `enclave` until CLOSE, end of input or an unreadable frame (§4.8, §6 BAD_FRAME), then
 * shuts it down (secrets zeroed). Resolves when done; the caller exits.
 */
export async function serve(enclave: TrustedEnclave, io: FrameIo = stdio(), options: ServeOptions = {}): Promise<void> {
  let afterHello = options.afterHello;
  const reader = new FrameReader();
  const chunk = new Uint8Array(READ_SIZE);
  const out = new OutputBuffer();
  for (;;) {
    const n = io.read(chunk);
    // End of input: a clean end or a truncated frame (reader.pending) both end the enclave (§6).
    if (n === 0) break;
    let frames;
    try {
      frames = reader.push(chunk.subarray(0, n));
    } catch (e) {
      // §6 BAD_FRAME: the stream cannot be resynchronised; answer (id 0) and leave.
      io.write(out.join(badFrameResponse(e instanceof ProtocolError ? e : new ProtocolError('BAD_FRAME', 'Cannot read frame'))));
      break;
    }
    for (const f of frames) {
      const { response, exit } = await enclave.handle(f);
      io.write(out.join(response));
      if (exit) { await enclave.shutdown(); return; }
      if (afterHello && enclave.state !== 'new') {
        const f = afterHello;
        afterHello = undefined;
        try { f(); } catch { /* see ServeOptions.afterHello */ }
      }
    }
  }
  await enclave.shutdown();
}

/**
 * One frame's parts as one buffer, for one write (the host then wakes once per answer): a
 * single part as it is, several copied into a buffer kept across frames (grown, never shrunk).
 */
class OutputBuffer {
  #buf = new Uint8Array(64 * 1024);

  join(parts: readonly Uint8Array[]): Uint8Array {
    if (parts.length === 1) return parts[0]!;
    let size = 0;
    for (const p of parts) size += p.byteLength;
    if (size > this.#buf.byteLength) this.#buf = new Uint8Array(Math.max(size, this.#buf.byteLength * 2));
    let at = 0;
    for (const p of parts) { this.#buf.set(p, at); at += p.byteLength; }
    return this.#buf.subarray(0, size);
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * On EAGAIN (a non-blocking descriptor — not what Node or Gramine give a child, but a launcher
 * might): sleep 0.2 ms without the event loop, then retry. Only a fallback: the descriptors are
 * blocking in every launch this project makes.
 */
function again(e: unknown): boolean {
  if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return false;
  Atomics.wait(pause, 0, 0, 0.2);
  return true;
}

/** fd 0 and fd 1, with blocking system calls (process.stdin/stdout are never opened). */
export function stdio(): FrameIo {
  return {
    read(into) {
      for (;;) {
        try {
          return readSync(0, into, 0, into.byteLength, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EOF') return 0;
          if (!again(e)) throw e;
        }
      }
    },
    write(bytes) {
      let at = 0;
      while (at < bytes.byteLength) {
        try {
          at += writeSync(1, bytes, at, bytes.byteLength - at);
        } catch (e) {
          if (!again(e)) throw e;
        }
      }
    },
  };
}
