/**
 * The enclave's side of the protocol (docs/enclave-protocol.md §1, §4): a state machine that
 * turns one request frame into one response frame. Part of the trusted code base (§8): it holds
 * the ephemeral X25519 key, the model key and the engine session, and nothing it returns
 * contains them. I/O lives in `trusted-main.ts`; tests drive this class in-process too.
 */
import { reportDataFor } from '../../attest/report-data.ts';
import { toHex } from '../../util/encoding.ts';
import { decodeHeader } from '../../bundle/header.ts';
import { policyAccepts } from '../../bundle/policy.ts';
import { checkHeaderSignature } from '../../bundle/signature.ts';
import { TailOpener } from '../../bundle/tail.ts';
import { answerOf, checkWatermarkFitsTail, type Answer } from './watermark.ts';
import type { BundleHeader } from '../../bundle/types.ts';
import {
  aeadOpen, aeadSeal, concatBytes, generateX25519KeyPair, randomBytes, unwrapWithX25519, zeroize,
  AEAD_NONCE_SIZE, type X25519KeyPair,
} from '../../crypto/index.ts';
import { EnclaveNnError, isErrorCode } from '../../errors.ts';
import type { TensorData } from '../../onnx/ort.ts';
import type { Platform, ProgramIdentity, SealPolicy } from '../../platform/types.ts';
import type { Engine, EngineOptions, EngineSession } from '../engines/types.ts';
import { decodeProvisionPayload, provisionTranscript } from '../../enclave-protocol/provision-transcript.ts';
import { EnclaveLicense, LICENSE_MSG, isLicenseMessage, sealPending, unsealPending } from './enclave-license.ts';
import {
  MAX_FRAME_SIZE, MSG, OK, PROTOCOL_VERSION, PayloadReader, PayloadWriter, ProtocolError, decodeAttest, decodeBytes, decodeEmpty,
  decodeForward, decodeHello, decodeLoadBegin, decodeLoadChunk, decodeProvision, encodeAttestOk, encodeBytes, encodeError,
  encodeForwardOk, encodeFrame, encodeHelloOk, encodeStr, encodeU32, encodeU8, type Frame, type ProtocolErrorName,
} from '../../enclave-protocol/index.ts';

/** The states of §1. */
export type EnclaveStateName = 'new' | 'hello' | 'provisioned' | 'loading' | 'ready';

const SEALED_AAD_LABEL = new TextEncoder().encode('enclave-nn/v1/sealed-state');
/** Version 2: policy, ISVPRODID and ISVSVN in the clear and in the AAD (§4.7). Version 1 was MRENCLAVE-only. */
const SEALED_VERSION = 2;
/** version, policy, ISVPRODID (u16), ISVSVN (u16), then the AEAD nonce. */
const SEALED_HEAD_SIZE = 1 + 1 + 2 + 2;
const SEAL_POLICY_BYTE: Record<SealPolicy, number> = { mrsigner: 1, mrenclave: 2 };

/** What the trusted program is built from. */
export interface TrustedEnclaveOptions {
  platform: Platform;
  engine: Engine;
  /** Passed to `engine.create`. @defaultValue {} */
  engineOptions?: EngineOptions;
}

/** The result of handling one frame: the response parts, and whether the process should exit. */
export interface Handled {
  response: Uint8Array[];
  exit: boolean;
}

/** The enclave state machine. One instance per trusted process. */
export class TrustedEnclave {
  readonly #platform: Platform;
  readonly #engine: Engine;
  readonly #engineOptions: EngineOptions;
  readonly #measurement: Uint8Array;
  readonly #identity: ProgramIdentity;
  readonly #startedAt = performance.now();
  /** Milestones in ms since this process started (performance.timeOrigin), for STATUS. */
  readonly #milestones: Record<string, number> = { codeStart: round1(performance.now()) };
  #state: EnclaveStateName = 'new';
  #keyPair: X25519KeyPair | undefined;
  #lastAttest: { nonce: Uint8Array; evidence: Uint8Array } | undefined;
  #modelId: string | undefined;
  #modelKey: Uint8Array | undefined;
  #license: Uint8Array = new Uint8Array(0);
  /** The license being enforced (docs/license-protocol.md §6), from LOAD_BEGIN on; none without a license. */
  #lic: EnclaveLicense | undefined;
  #header: BundleHeader | undefined;
  #opener: TailOpener | undefined;
  #session: EngineSession | undefined;
  /** The answer sealed with the tail — watermark (bundle-format.md §5.7), then output policy (§5.6) — applied on every FORWARD. */
  #answer: Answer | undefined;
  #forwardCount = 0;
  #sampleCount = 0;
  #peakRss = 0;

  constructor(options: TrustedEnclaveOptions) {
    this.#platform = options.platform;
    this.#engine = options.engine;
    this.#engineOptions = options.engineOptions ?? {};
    this.#measurement = options.platform.measurement();
    this.#identity = options.platform.identity();
  }

  /** The current state (§1). */
  get state(): EnclaveStateName { return this.#state; }

  /** Handles one request frame; never throws (errors become ERROR frames, §6). */
  async handle(frame: Frame): Promise<Handled> {
    try {
      const r = new PayloadReader(frame.body);
      const { payload, exit } = await this.#dispatch(frame.type, r);
      return { response: encodeFrame(OK(frame.type), frame.id, payload), exit };
    } catch (e) {
      return { response: errorFrame(frame.id, e), exit: false };
    }
  }

  /** Zeroes every secret and releases the engine (CLOSE, end of input). */
  async shutdown(): Promise<void> {
    this.#abortLoad();
    zeroize(this.#modelKey, this.#license);
    this.#lic?.destroy();
    this.#lic = undefined;
    this.#modelKey = undefined;
    this.#keyPair = undefined;
    const s = this.#session;
    this.#session = undefined;
    if (s) await s.release().catch(() => undefined);
  }

  #require(...states: EnclaveStateName[]): void {
    if (!states.includes(this.#state)) {
      throw new ProtocolError('STATE', `Cannot do that in state '${this.#state}' (allowed in: ${states.join(', ')})`);
    }
  }

  async #dispatch(type: number, r: PayloadReader): Promise<{ payload: Uint8Array[]; exit: boolean }> {
    const done = (payload: Uint8Array[] = []) => ({ payload, exit: false });
    switch (type) {
      case MSG.HELLO: return done(this.#hello(r));
      case MSG.ATTEST: return done(await this.#attest(r));
      case MSG.PROVISION: return done(await this.#provision(r));
      case MSG.LOAD_BEGIN: return done(this.#loadBegin(r));
      case MSG.LOAD_CHUNK: return done(await this.#loadChunk(r));
      case MSG.FORWARD: return done(await this.#forward(r));
      case MSG.STATUS: decodeEmpty(r); return done(encodeStr(JSON.stringify(this.status())));
      case MSG.SEAL: decodeEmpty(r); this.#require('provisioned', 'ready'); return done(encodeBytes(this.#seal()));
      case MSG.UNSEAL: return done(await this.#unseal(r));
      case MSG.CLOSE: decodeEmpty(r); await this.shutdown(); return { payload: [], exit: true };
      default:
        if (isLicenseMessage(type) && this.#lic) { this.#require('ready'); return done(this.#lic.handle(type, r)); }
        // Air-gapped license requests (docs/license-protocol.md §4.6, §6.3): keep the ephemeral key across processes, sealed.
        if (type === LICENSE_MSG.PENDING_SEAL) { decodeEmpty(r); if (!this.#lastAttest) throw new ProtocolError('STATE', 'Cannot seal a pending license request: no ATTEST came first'); return done(encodeBytes(sealPending(this.#platform.sealingKey(), this.#measurement, { keyPair: this.#keyPair!, ...this.#lastAttest }))); }
        if (type === LICENSE_MSG.PENDING_UNSEAL) { const blob = decodeBytes(r); this.#require('hello'); const p = unsealPending(this.#platform.sealingKey(), this.#measurement, blob); this.#keyPair = p.keyPair; this.#lastAttest = { nonce: p.nonce, evidence: p.evidence }; return done([]); }
        throw new ProtocolError('UNKNOWN_TYPE', `Cannot handle message type 0x${type.toString(16).padStart(2, '0')}: unknown to protocol version ${PROTOCOL_VERSION}`);
    }
  }

  // §3
  #hello(r: PayloadReader): Uint8Array[] {
    const { minVersion, maxVersion } = decodeHello(r);
    this.#require('new');
    if (minVersion > PROTOCOL_VERSION || maxVersion < PROTOCOL_VERSION) {
      throw new ProtocolError('VERSION', `Cannot agree on a protocol version: the host speaks ${minVersion}..${maxVersion}, this enclave ${PROTOCOL_VERSION}`);
    }
    this.#state = 'hello';
    this.#milestones.hello = round1(performance.now());
    return encodeHelloOk({ version: PROTOCOL_VERSION, platformKind: this.#platform.kind, measurement: this.#measurement, engine: this.#engine.name, maxFrameSize: MAX_FRAME_SIZE });
  }

  // §4.2
  async #attest(r: PayloadReader): Promise<Uint8Array[]> {
    const nonce = decodeAttest(r);
    this.#require('hello', 'provisioned', 'ready');
    // One ephemeral key per process: it exists only in this process's memory.
    this.#keyPair ??= generateX25519KeyPair();
    let evidence: Uint8Array;
    try {
      evidence = await this.#platform.evidence(reportDataFor(this.#keyPair.publicKey, nonce));
    } catch (cause) {
      throw new ProtocolError('ATTEST', `Cannot attest: the ${this.#platform.kind} platform gave no evidence (${(cause as Error).message})`, { cause });
    }
    this.#lastAttest = { nonce, evidence };
    return encodeAttestOk({ publicKey: this.#keyPair.publicKey, evidence });
  }

  // §4.3
  async #provision(r: PayloadReader): Promise<Uint8Array[]> {
    const { modelId, wrapped } = decodeProvision(r);
    this.#require('hello', 'provisioned', 'ready');
    if (!this.#lastAttest) throw new ProtocolError('STATE', 'Cannot provision: no ATTEST came first');
    const { nonce, evidence } = this.#lastAttest;
    let plain: Uint8Array;
    try {
      plain = unwrapWithX25519(this.#keyPair!.privateKey, wrapped, provisionTranscript({ modelId, nonce, evidence }));
    } catch (cause) {
      throw new ProtocolError('PROVISION', 'Cannot provision: the wrapped key does not authenticate (another enclave key, nonce, evidence or model id, or modified bytes)', { cause });
    }
    try {
      const p = decodeProvisionPayload(plain);
      await this.#setProvisioned(modelId, p.modelKey, p.license);
      this.#lastAttest = undefined; // one provisioning per attestation
    } finally {
      zeroize(plain);
    }
    return [];
  }

  /** Takes a (new) model key; a model loaded before is released (§1: re-provisioning). */
  async #setProvisioned(modelId: string, modelKey: Uint8Array, license: Uint8Array): Promise<void> {
    zeroize(this.#modelKey, this.#license);
    this.#lic?.destroy();
    this.#lic = undefined;
    const old = this.#session;
    this.#session = undefined;
    this.#header = undefined;
    this.#answer = undefined;
    this.#forwardCount = 0;
    this.#sampleCount = 0;
    if (old) await old.release().catch(() => undefined);
    this.#modelId = modelId;
    this.#modelKey = modelKey;
    this.#license = license;
    this.#state = 'provisioned';
  }

  // §4.4
  #loadBegin(r: PayloadReader): Uint8Array[] {
    const { header: headerView, signature } = decodeLoadBegin(r);
    this.#require('provisioned');
    const headerBytes = headerView.slice();
    const header = verifiedHeader(headerBytes, signature);
    if (header.modelId !== this.#modelId) {
      throw new ProtocolError('BUNDLE', `Cannot load bundle: it is model '${header.modelId}', but this enclave was provisioned for '${this.#modelId}'`);
    }
    const m = toHex(this.#measurement);
    const { mrSigner, isvSvn } = this.#identity;
    if (!policyAccepts(header.policy, { kind: this.#platform.kind, measurement: m, mrSigner: toHex(mrSigner), isvSvn })) {
      throw new ProtocolError('POLICY', `Cannot load bundle: its policy does not accept platform '${this.#platform.kind}' with measurement ${m}, signer ${toHex(mrSigner)}, security version ${isvSvn}`);
    }
    // The license is checked against the verified header's provider key and model id (LICENSE).
    this.#lic?.destroy();
    this.#lic = EnclaveLicense.open(this.#license, header);
    try {
      this.#opener = new TailOpener(headerBytes, this.#modelKey!, 'in enclave');
    } catch (cause) {
      throw mapBundleError(cause);
    }
    this.#header = header;
    this.#state = 'loading';
    return encodeU32(header.tail.chunkCount);
  }

  async #loadChunk(r: PayloadReader): Promise<Uint8Array[]> {
    const { last, chunk } = decodeLoadChunk(r);
    this.#require('loading');
    const opener = this.#opener!;
    const count = this.#header!.tail.chunkCount;
    try {
      if (last !== (opener.index === count - 1)) {
        throw new ProtocolError('DECRYPT', `Cannot load chunk ${opener.index} of ${count}: its last flag is ${last ? 'set' : 'not set'}`);
      }
      opener.push(chunk);
      if (!last) return encodeU8(0);
      const tail = opener.finish();
      this.#opener = undefined;
      try {
        const answer = answerOf(opener.outputPolicy, opener.watermark, this.#modelKey!, this.#header!); // the watermark keyed by K, here only (§5.7)
        const session = await this.#engine.create(tail, this.#engineOptions).catch((cause: unknown) => {
          // The engine's own message may name tail nodes: keep it inside (§6).
          throw new ProtocolError('ENGINE', `Cannot load bundle: the ${this.#engine.name} engine could not create a session from the tail`, { cause });
        });
        // A watermark for another class count than the tail's would fail every FORWARD: refuse the LOAD, release the session (nothing half-loaded).
        await checkWatermarkFitsTail(opener.watermark, this.#header!, (feeds) => session.run(feeds))
          .catch(async (e: unknown) => { await session.release().catch(() => undefined); throw e; });
        this.#answer = answer;
        this.#session = session;
      } finally {
        zeroize(tail);
      }
    } catch (e) {
      this.#abortLoad();
      throw mapBundleError(e);
    }
    this.#state = 'ready';
    this.#milestones.ready = round1(performance.now());
    this.#trackMemory();
    return encodeU8(1);
  }

  #abortLoad(): void {
    this.#opener?.dispose();
    this.#opener = undefined;
    if (this.#state === 'loading') { this.#state = 'provisioned'; this.#header = undefined; }
  }

  // §4.5
  async #forward(r: PayloadReader): Promise<Uint8Array[]> {
    const feeds = decodeForward(r);
    this.#require('ready');
    const samples = checkInputs(this.#header!, feeds);
    this.#lic?.admit(samples); // credits per sample; QUOTA / LICENSE before any compute
    const t0 = process.hrtime.bigint();
    let outputs: Record<string, TensorData>;
    try {
      outputs = await this.#session!.run(feeds);
    } catch (cause) {
      this.#lic?.refund(samples);
      throw new ProtocolError('ENGINE', `Cannot run the tail: the ${this.#engine.name} engine failed`, { cause });
    }
    try {
      this.#lic?.observe(feeds, outputs); // the extraction monitor (license-protocol.md §5.2.1) sees the cut tensors and the raw answer
      // Watermark and policy apply here, inside the enclave: the raw outputs never reach the host (§4.5).
      outputs = checkOutputs(this.#header!, this.#answer!(feeds, outputs));
    } catch (cause) {
      this.#lic?.refund(samples);
      throw new ProtocolError('ENGINE', 'Cannot run the tail: its outputs do not fit the bundle\'s output policy and header', { cause });
    }
    const computeNs = process.hrtime.bigint() - t0;
    this.#forwardCount++;
    this.#sampleCount += samples;
    return encodeForwardOk({ computeNs, outputs });
  }

  /** The STATUS object (§4.6). */
  status(): Record<string, unknown> {
    const mem = this.#trackMemory();
    return {
      state: this.#state, platform: this.#platform.kind, engine: this.#engine.name, modelId: this.#modelId ?? null,
      licensePresent: this.#license.byteLength > 0, license: this.#lic?.status() ?? null, forwardCount: this.#forwardCount, sampleCount: this.#sampleCount,
      rssSize: mem.rss, heapUsedSize: mem.heapUsed, peakRssSize: this.#peakRss, uptimeMs: Math.round(performance.now() - this.#startedAt),
      startupMs: this.#milestones, cpuUs: process.cpuUsage(),
    };
  }

  #trackMemory(): NodeJS.MemoryUsage {
    const mem = process.memoryUsage();
    this.#peakRss = Math.max(this.#peakRss, mem.rss);
    return mem;
  }

  // §4.7
  #seal(): Uint8Array {
    const state = concatBytes(...new PayloadWriter().str(this.#modelId!).bytes(this.#modelKey!).bytes(this.#lic ? this.#lic.sealable() : this.#license)
      .u64(this.#forwardCount).u64(this.#sampleCount).finish());
    // Sealed at this program's own version: the head says which key opens it (§4.7).
    const head = sealedHead(this.#platform.sealPolicy, this.#identity.isvProdId, this.#identity.isvSvn);
    // A random nonce: the sealing key is long-lived and seals many blobs.
    const nonce = randomBytes(AEAD_NONCE_SIZE);
    try {
      return concatBytes(head, nonce, aeadSeal(this.#platform.sealingKey(), nonce, state, this.#sealedAad(head)));
    } finally {
      zeroize(state);
    }
  }

  /** The AAD binds the head (policy, product, version) and, under `mrenclave`, this measurement. */
  #sealedAad(head: Uint8Array): Uint8Array {
    return concatBytes(SEALED_AAD_LABEL, head, this.#platform.sealPolicy === 'mrenclave' ? this.#measurement : this.#identity.mrSigner);
  }

  async #unseal(r: PayloadReader): Promise<Uint8Array[]> {
    const blob = decodeBytes(r);
    this.#require('hello', 'provisioned', 'ready');
    if (blob.byteLength < SEALED_HEAD_SIZE + AEAD_NONCE_SIZE || blob[0] !== SEALED_VERSION) {
      throw new ProtocolError('SEAL', `Cannot unseal: not a version-${SEALED_VERSION} sealed blob${blob[0] === 1 ? ' (version 1 was sealed to MRENCLAVE by an older enclave-nn; provision the model again)' : ''}`);
    }
    const head = blob.subarray(0, SEALED_HEAD_SIZE);
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const policy = head[1] === SEAL_POLICY_BYTE.mrsigner ? 'mrsigner' : head[1] === SEAL_POLICY_BYTE.mrenclave ? 'mrenclave' : undefined;
    const prodId = dv.getUint16(2);
    const svn = dv.getUint16(4);
    // Checked before any key is derived, each with its reason in the message.
    if (policy !== this.#platform.sealPolicy) throw new ProtocolError('SEAL', `Cannot unseal: the blob is sealed to ${policy ?? 'an unknown policy'}, this enclave seals to ${this.#platform.sealPolicy}`);
    if (prodId !== this.#identity.isvProdId) throw new ProtocolError('SEAL', `Cannot unseal: the blob belongs to product ${prodId}, this enclave is product ${this.#identity.isvProdId}`);
    if (svn > this.#identity.isvSvn) throw new ProtocolError('SEAL', `Cannot unseal: the blob was sealed by security version ${svn}, newer than this enclave's ${this.#identity.isvSvn} (a downgrade is refused)`);
    let state: Uint8Array;
    try {
      // The key of the blob's version: an older version's blob opens after an upgrade.
      const key = this.#platform.sealingKey(svn);
      state = aeadOpen(key, blob.subarray(SEALED_HEAD_SIZE, SEALED_HEAD_SIZE + AEAD_NONCE_SIZE), blob.subarray(SEALED_HEAD_SIZE + AEAD_NONCE_SIZE), this.#sealedAad(head));
    } catch (cause) {
      if (isErrorCode(cause, 'PLATFORM_SEAL_SVN')) throw new ProtocolError('SEAL', `Cannot unseal: ${(cause as Error).message}`, { cause });
      throw new ProtocolError('SEAL', 'Cannot unseal: the blob was sealed by another program, signer or installation, or modified', { cause });
    }
    try {
      const s = new PayloadReader(state, 0);
      const modelId = s.str();
      const modelKey = s.bytes().slice();
      const license = s.bytes().slice();
      const forwards = s.u64();
      const samples = s.u64();
      s.end();
      await this.#setProvisioned(modelId, modelKey, license);
      this.#forwardCount = Number(forwards);
      this.#sampleCount = Number(samples);
      return encodeStr(modelId);
    } finally {
      zeroize(state);
    }
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The clear head of a sealed blob (§4.7): version, policy, ISVPRODID, ISVSVN (big-endian u16). */
function sealedHead(policy: SealPolicy, isvProdId: number, isvSvn: number): Uint8Array {
  return Uint8Array.of(SEALED_VERSION, SEAL_POLICY_BYTE[policy], isvProdId >> 8, isvProdId & 0xff, isvSvn >> 8, isvSvn & 0xff);
}

/** Verifies the header signature with its own providerKey, then decodes it (bundle-format.md §4.4, §7). */
function verifiedHeader(headerBytes: Uint8Array, signature: Uint8Array): BundleHeader {
  const checked = checkHeaderSignature(headerBytes, signature);
  if (!checked.ok) {
    if (checked.failure === 'not-json') throw new ProtocolError('BUNDLE', 'Cannot load bundle: the header is not JSON', { cause: checked.cause });
    if (checked.failure === 'no-provider-key') throw new ProtocolError('BUNDLE', 'Cannot load bundle: the header has no readable providerKey');
    throw new ProtocolError('BUNDLE', 'Cannot load bundle: header signature does not verify');
  }
  try {
    return decodeHeader(headerBytes, 'in enclave');
  } catch (cause) {
    throw mapBundleError(cause);
  }
}

function mapBundleError(e: unknown): unknown {
  if (e instanceof ProtocolError || !(e instanceof EnclaveNnError)) return e;
  const decrypt = ['BUNDLE_TAIL_DECRYPT', 'BUNDLE_TAIL_PADDING', 'BUNDLE_OUTPUT_POLICY', 'BUNDLE_WATERMARK', 'BUNDLE_TRUNCATED'].includes(e.code);
  return new ProtocolError(decrypt ? 'DECRYPT' : 'BUNDLE', e.message, { cause: e });
}

/**
 * Checks FORWARD tensors against the header's cut (§4.5); returns the sample count (batch).
 * Credits count samples, so the batch must be one number: every symbolic first dimension of a
 * cut tensor, and every dimension named like one, carries the same size — else one counted
 * sample could broadcast to many real ones (Add(s[1000], b[1])).
 */
function checkInputs(header: BundleHeader, feeds: Record<string, TensorData>): number {
  const names = Object.keys(feeds);
  for (const n of names) {
    if (!header.inputs.some((s) => s.name === n)) throw new ProtocolError('INPUT', `Cannot forward: unknown input '${n}'; expected ${header.inputs.map((s) => s.name).join(', ')}`);
  }
  for (const spec of header.inputs) {
    const t = feeds[spec.name];
    if (!t) throw new ProtocolError('INPUT', `Cannot forward: input '${spec.name}' is missing`);
    if (t.dtype !== spec.dtype) throw new ProtocolError('INPUT', `Cannot forward: input '${spec.name}' is ${t.dtype}, expected ${spec.dtype}`);
    if (t.dims.length !== spec.shape.length) throw new ProtocolError('INPUT', `Cannot forward: input '${spec.name}' has rank ${t.dims.length}, expected ${spec.shape.length}`);
    spec.shape.forEach((d, i) => {
      const got = t.dims[i]!;
      if (typeof d === 'number' ? got !== d : got < 1) {
        throw new ProtocolError('INPUT', `Cannot forward: input '${spec.name}' has shape [${t.dims.join(',')}], expected [${spec.shape.join(',')}]`);
      }
    });
  }
  // Whatever they are called ('batch', 'N', 's77'), the symbolic names at dimension 0 mark the
  // batch; a fixed first dimension (a shape tensor such as int64[2]) is no batch and cannot vary.
  const batched = header.inputs.filter((s) => typeof s.shape[0] === 'string');
  if (batched.length === 0) return Math.max(1, ...header.inputs.filter((s) => s.shape.length > 0).map((s) => feeds[s.name]!.dims[0]!));
  const first = batched[0]!;
  const batch = feeds[first.name]!.dims[0]!;
  const batchNames = new Set(batched.map((s) => s.shape[0]));
  for (const spec of header.inputs) {
    const dims = feeds[spec.name]!.dims;
    spec.shape.forEach((d, i) => {
      if (typeof d === 'string' && batchNames.has(d) && dims[i] !== batch) {
        throw new ProtocolError('INPUT', `Cannot forward: input '${spec.name}' has ${dims[i]} in its batch dimension ${i} (${d}), input '${first.name}' has batch size ${batch}; every cut tensor must carry the same batch size`);
      }
    });
  }
  return batch;
}

/** The outputs after the policy must be exactly the header's outputs, by name and dtype (bundle-format.md §5.6). */
function checkOutputs(header: BundleHeader, outputs: Record<string, TensorData>): Record<string, TensorData> {
  const names = Object.keys(outputs);
  const ok = names.length === header.outputs.length && header.outputs.every((s) => outputs[s.name]?.dtype === s.dtype);
  if (!ok) throw new Error('outputs differ from the header');
  return outputs;
}

function errorFrame(id: number, e: unknown): Uint8Array[] {
  const name: ProtocolErrorName = e instanceof ProtocolError ? e.protocolCode : 'INTERNAL';
  // An unexpected error's text may come from a library holding secrets: say only its class.
  const message = e instanceof ProtocolError ? e.message : `Internal enclave error (${e instanceof Error ? e.name : typeof e})`;
  return encodeFrame(MSG.ERROR, id, encodeError(name, message));
}

/** The ERROR frame answering an unparseable frame (§6 BAD_FRAME: id 0). */
export function badFrameResponse(e: unknown): Uint8Array[] {
  return errorFrame(0, e);
}
