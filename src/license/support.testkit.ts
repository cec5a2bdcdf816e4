/**
 * Test support for the license server: a fixture (store + service + HTTP handler on an
 * INSECURE in-memory sim chain, with a settable clock) and an in-process stand-in for the
 * trusted program's license side. Used by the conformance suite and the load benchmark.
 */
import { generateEd25519KeyPair, generateX25519KeyPair, randomBytes, sha256, type X25519KeyPair } from '../crypto/index.ts';
import { createInsecureSimChain, createInsecureSimQuote, type InsecureSimChain } from '../attest/sim.ts';
import { reportDataFor } from '../attest/report-data.ts';
import type { PinnedRoot } from '../attest/types.ts';
import type { ProviderKey } from '../bundle/types.ts';
import { LicenseEnforcer } from '../enclave/trusted/enforcer.ts';
import { provisionTranscript, unwrapProvisionPayload } from '../license-format/provision.ts';
import { LicenseServer } from './server.ts';
import { LicenseService } from './service.ts';
import { LicenseStore, type SqlDb } from './store.ts';

/** The measurement test enclaves report. */
export const TEST_MRENCLAVE = sha256(new TextEncoder().encode('enclave-nn test enclave'));
/** The signer test enclaves report. */
export const TEST_MRSIGNER = sha256(new TextEncoder().encode('enclave-nn test signer'));
/** The admin token of fixtures. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = new TextEncoder();

/** A fresh provider key for a test model. */
export function testProviderKey(modelId: string): ProviderKey {
  const k = generateEd25519KeyPair();
  return { modelId, modelKey: randomBytes(32), signingKey: k.privateKey, signingPublicKey: k.publicKey };
}

/** A license server on `db` with an in-memory sim chain and a settable clock. */
export class Fixture {
  clock = 1_800_000_000;
  readonly chain: InsecureSimChain;
  readonly store: LicenseStore;
  readonly service: LicenseService;
  readonly server: LicenseServer;

  private constructor(store: LicenseStore, chain: InsecureSimChain, masterKey: Uint8Array, roots: readonly PinnedRoot[]) {
    this.store = store;
    this.chain = chain;
    this.service = new LicenseService({ store, masterKey, roots: [chain.root, ...roots], now: () => this.clock });
    this.server = new LicenseServer(this.service, TEST_ADMIN_TOKEN);
  }

  /** Migrates `db` and builds the fixture; the sim root is trusted, plus `roots`. */
  static async create(db: SqlDb, o: { chain?: InsecureSimChain; masterKey?: Uint8Array; roots?: readonly PinnedRoot[] } = {}): Promise<Fixture> {
    const store = new LicenseStore(db);
    await store.migrate();
    return new Fixture(store, o.chain ?? createInsecureSimChain(), o.masterKey ?? randomBytes(32), o.roots ?? []);
  }

  /** Calls the HTTP handler in-process; resolves to status and parsed body. */
  async call(method: string, url: string, body?: unknown, token: string | null = TEST_ADMIN_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await this.server.handle({
      method, url, ...(token !== null && url.startsWith('/v1/admin/') ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { body: utf8.encode(JSON.stringify(body)) } : {}),
    });
    return { status: r.status, body: r.body as Record<string, unknown> };
  }
}

/** What a sim enclave sends to provision. */
export interface Attestation { keyPub: Uint8Array; evidence: Uint8Array }

/**
 * An in-process stand-in for the trusted program's key and license handling: an X25519 key, sim
 * quotes binding it, PROVISION unwrapping and a {@link LicenseEnforcer}.
 */
export class TestEnclave {
  readonly keys: X25519KeyPair = generateX25519KeyPair();
  enforcer: LicenseEnforcer | undefined;
  modelKey: Uint8Array | undefined;
  private readonly chain: InsecureSimChain;
  private readonly mrEnclave: Uint8Array;

  constructor(chain: InsecureSimChain, mrEnclave: Uint8Array = TEST_MRENCLAVE) {
    this.chain = chain;
    this.mrEnclave = mrEnclave;
  }

  /** ATTEST: a sim quote with REPORTDATA = SHA-512(keyPub ‖ nonce) (or over `boundKey` to forge a binding). */
  attest(nonce: Uint8Array, boundKey: Uint8Array = this.keys.publicKey): Attestation {
    const evidence = createInsecureSimQuote({ mrEnclave: this.mrEnclave, mrSigner: TEST_MRSIGNER, reportData: reportDataFor(boundKey, nonce) }, this.chain);
    return { keyPub: this.keys.publicKey, evidence };
  }

  /** PROVISION: opens the wrap (bound to its own transcript) and builds the enforcer. */
  provision(o: { modelId: string; nonce: Uint8Array; evidence: Uint8Array; wrapped: Uint8Array; providerKey: Uint8Array; now: number }): LicenseEnforcer {
    const p = unwrapProvisionPayload(this.keys.privateKey, o.wrapped, provisionTranscript(o.modelId, o.nonce, o.evidence));
    this.modelKey = p.modelKey;
    this.enforcer = LicenseEnforcer.fromPackage(p.license, { modelId: o.modelId, providerKey: o.providerKey, now: o.now });
    return this.enforcer;
  }
}

/** Hex of the test measurement (for policies). */
export const TEST_MRENCLAVE_HEX = hex(TEST_MRENCLAVE);
