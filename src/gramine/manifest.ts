/**
 * Gramine manifest template for the trusted program (docs/deploy-sgx.md). The output is a
 * `*.manifest.template` for `gramine-manifest` (it fills `{{ gramine.libos }}`,
 * `{{ gramine.runtimedir() }}` and `{{ arch_libdir }}`), then `gramine-sgx-sign` measures every
 * trusted file into MRENCLAVE. Syntax: Gramine's Documentation/manifest-syntax.rst and the
 * schema of `gramine-manifest-check` (python/graminelibos/manifest_check.py), v1.7–v1.9.
 *
 * Security properties, each checked by manifest.test.ts:
 * - no `insecure__` key: arguments and environment are fixed here (`loader.argv`, `loader.env`),
 *   never taken from the untrusted host's command line or environment;
 * - `sgx.remote_attestation = "dcap"`: the enclave's evidence is a DCAP quote;
 * - `sgx.debug = false` unless asked: a debug enclave's memory is readable by the host;
 * - every file the trusted program loads is an `sgx.trusted_files` entry (hashed into MRENCLAVE),
 *   so the host cannot swap the program, node, onnxruntime or a shared library.
 *
 * The program's files are named relative to the folder the manifest is in (Gramine resolves a
 * relative `file:` URI from the directory `gramine-sgx` runs in, as its helloworld example does),
 * so the same inputs give a byte-identical manifest, and MRENCLAVE, in any build folder.
 */
import type { SealPolicy } from '../platform/types.ts';

/** The Gramine releases this manifest is written for (docs/deploy-sgx.md, "Supported versions"). */
export const GRAMINE_VERSIONS = ['1.7', '1.8', '1.9'] as const;

/** A supported Gramine release. */
export type GramineVersion = (typeof GRAMINE_VERSIONS)[number];

/** The folder, beside the manifest, that holds the program; mounted at the same path inside. */
export const PROGRAM_DIR = 'enclave-nn';

/** What goes into the manifest. */
export interface ManifestOptions {
  /** Absolute path of the node binary (mounted at the same path inside the enclave). */
  nodePath: string;
  /** Absolute paths of the shared libraries node and onnxruntime load (from `ldd`). */
  libraries: string[];
  /** The trusted program's files, the entry file first, relative to the manifest's folder (`enclave-nn/…`). */
  programFiles: string[];
  /** `1.7` writes `loader.entrypoint` as a string (its only form); `1.8`, `1.9` the table form. @defaultValue '1.9' */
  gramineVersion?: GramineVersion;
  /** @defaultValue false */
  debug?: boolean;
  /** EDMM (`sgx.edmm_enable`): memory is added on demand, `sgx.enclave_size` is only a ceiling. @defaultValue false */
  edmm?: boolean;
  /** A power of two. @defaultValue {@link defaultEnclaveSize}(tailSize) */
  enclaveSize?: string;
  /** The largest padded tail the enclave will load, bytes (bundle header `tail.paddedSize`). @defaultValue 0 */
  tailSize?: number;
  /** onnxruntime's intra-op threads (the caller included). @defaultValue 2 */
  ortThreads?: number;
  /** @defaultValue {@link deriveMaxThreads} of the thread counts here */
  maxThreads?: number;
  /** @defaultValue 1024 */
  maxOldSpaceMiB?: number;
  /** @defaultValue 'mrsigner' */
  sealPolicy?: SealPolicy;
  /** `sgx.isvprodid`, 0..65535. @defaultValue 1 */
  isvProdId?: number;
  /** `sgx.isvsvn`, 0..65535: raise it with each security fix. @defaultValue 1 */
  isvSvn?: number;
}

/** V8's platform worker threads, pinned with `--v8-pool-size` (Node's default is 4). */
export const V8_POOL_SIZE = 2;
/** libuv's thread pool (`UV_THREADPOOL_SIZE`): file system work and onnxruntime-node's async runs. */
export const UV_THREADPOOL_SIZE = 4;
/** Threads Node starts besides the main thread and the V8 pool (measured on Node 20: the delayed-task scheduler and one more). */
export const NODE_EXTRA_THREADS = 2;
/** Gramine's own threads inside the enclave: IPC, Async, one TLS-handshake (manifest-syntax.rst, "Number of threads"). */
export const GRAMINE_HELPER_THREADS = 3;
/** Room for a thread a library starts that is not counted above: running out of slots kills the enclave. */
export const THREAD_HEADROOM = 4;

/**
 * `sgx.max_threads` from the threads the program can have at once: the main thread, V8's pool
 * ({@link V8_POOL_SIZE}) and Node's other threads, libuv's pool, onnxruntime's intra-op pool
 * (`ortThreads - 1`: the calling thread is one of them; inter-op is pinned to 1, no pool),
 * Gramine's helpers, and {@link THREAD_HEADROOM}.
 */
export function deriveMaxThreads(ortThreads: number): number {
  return 1 + V8_POOL_SIZE + NODE_EXTRA_THREADS + UV_THREADPOOL_SIZE + (ortThreads - 1) + GRAMINE_HELPER_THREADS + THREAD_HEADROOM;
}

/** Node, Gramine's LibOS, onnxruntime's code, thread stacks: what the enclave holds before any heap or model. */
export const BASE_ENCLAVE_MIB = 512;

/**
 * The smallest power of two that holds {@link BASE_ENCLAVE_MIB}, the V8 heap limit and three
 * copies of the tail (the decrypted padded tail, onnxruntime's copy of the model, and its
 * initialized weights): 2G for tails up to ~170 MiB with the default 1 GiB heap. Without EDMM
 * all of it is committed at start, so smaller starts faster and fits a smaller EPC.
 */
export function defaultEnclaveSize(tailSize = 0, maxOldSpaceMiB = 1024): string {
  const mib = BASE_ENCLAVE_MIB + maxOldSpaceMiB + Math.ceil((3 * tailSize) / 2 ** 20);
  let size = 256;
  while (size < mib) size *= 2;
  return size >= 1024 ? `${size / 1024}G` : `${size}M`;
}

const q = (s: string) => JSON.stringify(s);

function u16(v: number | undefined, fallback: number, what: string): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${what} must be an integer in 0..65535, got ${n}`);
  return n;
}

/** Renders the manifest template text. Bad options throw RangeError naming the option. */
export function renderManifest(o: ManifestOptions): string {
  const version = o.gramineVersion ?? '1.9';
  if (!GRAMINE_VERSIONS.includes(version)) throw new RangeError(`Gramine version must be one of ${GRAMINE_VERSIONS.join(', ')}, got ${String(version)} (1.6 and older need the insecure__ eventfd option and are not supported)`);
  const heap = o.maxOldSpaceMiB ?? 1024;
  const enclaveSize = o.enclaveSize ?? defaultEnclaveSize(o.tailSize, heap);
  if (!/^(1|2|4|8|16|32|64|128|256|512)[MG]$/.test(enclaveSize)) throw new RangeError(`enclave size must be a power of two like 2G, got ${enclaveSize}`);
  const ortThreads = o.ortThreads ?? 2;
  if (!Number.isInteger(ortThreads) || ortThreads < 1 || ortThreads > 64) throw new RangeError(`onnxruntime threads must be an integer in 1..64, got ${ortThreads}`);
  const maxThreads = o.maxThreads ?? deriveMaxThreads(ortThreads);
  if (!Number.isInteger(maxThreads) || maxThreads < 4) throw new RangeError(`max threads must be an integer of at least 4 (Gramine's own helpers need 3), got ${maxThreads}`);
  const sealPolicy = o.sealPolicy ?? 'mrsigner';
  if (sealPolicy !== 'mrsigner' && sealPolicy !== 'mrenclave') throw new RangeError(`seal policy must be mrsigner or mrenclave, got ${String(sealPolicy)}`);
  const isvProdId = u16(o.isvProdId, 1, 'ISVPRODID');
  const isvSvn = u16(o.isvSvn, 1, 'ISVSVN');
  const entry = o.programFiles[0];
  if (!entry) throw new RangeError('renderManifest: no trusted program files');
  for (const f of o.programFiles) {
    if (!f.startsWith(PROGRAM_DIR + '/') || f.split('/').includes('..')) throw new RangeError(`renderManifest: program file ${f} is not inside ${PROGRAM_DIR}/`);
  }
  const trusted = [
    // 1.8+ measure the LibOS through loader.entrypoint.sha256; 1.7 needs it listed here.
    ...(version === '1.7' ? ['"file:{{ gramine.libos }}"'] : []),
    '"file:{{ gramine.runtimedir() }}/"',
    q('file:' + o.nodePath),
    ...[...new Set(o.libraries)].sort().map((l) => q('file:' + l)),
    ...o.programFiles.map((f) => q('file:' + f)),
  ];
  const entrypoint = version === '1.7'
    ? `# Gramine 1.7 reads loader.entrypoint as a string only (1.8 deprecates it, 1.9 refuses it).
loader.entrypoint = "file:{{ gramine.libos }}"`
    : `# The table form (Gramine >= 1.8; 1.9 refuses the older string form). gramine-manifest adds the hash.
loader.entrypoint.uri = "file:{{ gramine.libos }}"`;
  return `# Gramine manifest template for the Enclave-NN trusted program, for Gramine ${version}.
# Generated by \`enclave-nn gramine manifest\`; render with gramine-manifest, sign with
# gramine-sgx-sign, read MRENCLAVE and MRSIGNER with gramine-sgx-sigstruct-view (docs/deploy-sgx.md).
# Supported: Gramine 1.7, 1.8, 1.9. Not 1.6 or older: Node needs eventfd, which those releases
# allowed only through sys.insecure__allow_eventfd (host-based); 1.7+ emulate it inside the enclave.
# Run gramine-sgx from the folder this file is in: the program's files are named relative to it.

${entrypoint}
libos.entrypoint = ${q(o.nodePath)}
loader.log_level = "error"

# Fixed arguments and environment: the untrusted host cannot change what runs or how.
# --v8-pool-size and UV_THREADPOOL_SIZE pin Node's thread pools, --ort-threads onnxruntime's
# (sgx.max_threads below counts them); --seal is what sealed state is bound to.
loader.argv = [${[o.nodePath, `--max-old-space-size=${heap}`, `--v8-pool-size=${V8_POOL_SIZE}`, `/${entry}`, '--platform', 'gramine-sgx', '--engine', 'ort', '--seal', sealPolicy, '--ort-threads', String(ortThreads)].map(q).join(', ')}]
loader.env.LD_LIBRARY_PATH = "/lib:{{ arch_libdir }}:/usr{{ arch_libdir }}"
loader.env.ENCLAVE_NN_PLATFORM = "gramine-sgx"
loader.env.ENCLAVE_NN_ATTESTATION_DIR = "/dev/attestation"
loader.env.ENCLAVE_NN_HOME = "/tmp/enclave-nn"
loader.env.UV_THREADPOOL_SIZE = "${UV_THREADPOOL_SIZE}"
loader.env.NODE_OPTIONS = ""

fs.mounts = [
  { path = "/lib", uri = "file:{{ gramine.runtimedir() }}" },
  { path = "{{ arch_libdir }}", uri = "file:{{ arch_libdir }}" },
  { path = "/usr{{ arch_libdir }}", uri = "file:/usr{{ arch_libdir }}" },
  { path = ${q(o.nodePath)}, uri = ${q('file:' + o.nodePath)} },
  { path = "/${PROGRAM_DIR}", uri = "file:${PROGRAM_DIR}" },
  # Scratch space in enclave memory only; nothing the program writes reaches the host's disk.
  { type = "tmpfs", path = "/tmp" },
]

sgx.debug = ${o.debug ? 'true' : 'false'}
sgx.remote_attestation = "dcap"
# Product and security version: bound into the sealing key (MRSIGNER sealing) and checked
# against the bundle policy's minIsvSvn. Raise sgx.isvsvn with each security fix.
sgx.isvprodid = ${isvProdId}
sgx.isvsvn = ${isvSvn}
# EDMM: ${o.edmm ? 'on: pages are added on demand; enclave_size is the ceiling' : 'off: all of enclave_size is committed when the enclave starts'}.
sgx.edmm_enable = ${o.edmm ? 'true' : 'false'}
# Node (${BASE_ENCLAVE_MIB} MiB for Node, the LibOS, onnxruntime and stacks), the V8 heap limit
# (${heap} MiB) and three copies of a tail of ${o.tailSize ?? 0} bytes (decrypted, onnxruntime's copy,
# its weights): ${enclaveSize}, the power of two SGX requires.
sgx.enclave_size = ${q(enclaveSize)}
# Threads at once: main 1 + V8 pool ${V8_POOL_SIZE} + Node's other ${NODE_EXTRA_THREADS} + libuv ${UV_THREADPOOL_SIZE} + onnxruntime
# intra-op ${ortThreads - 1} (inter-op pinned to 1: no pool) + Gramine's helpers ${GRAMINE_HELPER_THREADS} + headroom ${THREAD_HEADROOM}.
# Without EDMM this is a hard cap: one thread more kills the enclave.
sgx.max_threads = ${maxThreads}

# Every file the enclave loads is measured into MRENCLAVE: Gramine's runtime, node, its
# libraries, onnxruntime's native library and binding, and the trusted program's own files.
sgx.trusted_files = [
${trusted.map((t) => '  ' + t + ',').join('\n')}
]
`;
}
