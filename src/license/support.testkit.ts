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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DcapQvlCollateralJson } from '../attest/collateral-format.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { COLLATERAL_FILES } from './collateral-dir.ts';
import { LicenseEnforcer } from '../enclave/trusted/enforcer.ts';
import { provisionTranscript, unwrapProvisionPayload } from '../license-format/provision.ts';
import { LicenseServer } from './server.ts';
import { LicenseService, type LicenseServiceOptions } from './service.ts';
import { LicenseStore, type MonitorAction, type SqlDb } from './store.ts';

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

/** Service options a {@link Fixture} passes through. */
export type FixtureServiceOptions = Pick<LicenseServiceOptions, 'collateral' | 'collateralRoots'>;

/**
 * Writes dcap-qvl collateral JSON (e.g. ../shared/attestation/dcap-qvl_sgx_quote_collateral.json)
 * as a collateral directory (docs/license-protocol.md §4.5.1), for the PCK CA type `ca`.
 */
export function writeCollateralDir(collateralJson: string, dir: string, ca: 'processor' | 'platform' = 'processor'): string {
  const j = JSON.parse(collateralJson) as DcapQvlCollateralJson;
  const fmspc = (JSON.parse(j.tcb_info) as { fmspc: string }).fmspc.toLowerCase();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, COLLATERAL_FILES.rootCaCrl), Buffer.from(j.root_ca_crl, 'hex'));
  writeFileSync(join(dir, COLLATERAL_FILES.pckCrl(ca)), Buffer.from(j.pck_crl, 'hex'));
  writeFileSync(join(dir, COLLATERAL_FILES.tcbSigningChain), j.tcb_info_issuer_chain);
  // PCS bodies: the signed value verbatim, then its signature.
  writeFileSync(join(dir, COLLATERAL_FILES.tcbInfo(fmspc)), `{"tcbInfo":${j.tcb_info},"signature":"${j.tcb_info_signature!}"}`);
  writeFileSync(join(dir, COLLATERAL_FILES.qeIdentity), `{"enclaveIdentity":${j.qe_identity},"signature":"${j.qe_identity_signature!}"}`);
  return dir;
}

/** A license server on `db` with an in-memory sim chain and a settable clock. */
export class Fixture {
  clock = 1_800_000_000;
  readonly chain: InsecureSimChain;
  readonly store: LicenseStore;
  readonly service: LicenseService;
  readonly server: LicenseServer;

  /** What the server logged (internal errors, collateral refusals). */
  readonly logged: string[] = [];

  private constructor(store: LicenseStore, chain: InsecureSimChain, masterKey: Uint8Array, roots: readonly PinnedRoot[], more: FixtureServiceOptions) {
    this.store = store;
    this.chain = chain;
    this.service = new LicenseService({ store, masterKey, roots: [chain.root, ...roots], now: () => this.clock, ...more });
    this.server = new LicenseServer(this.service, TEST_ADMIN_TOKEN, { log: (line) => { this.logged.push(line); } });
  }

  /** Migrates `db` and builds the fixture; the sim root is trusted, plus `roots`; `service` adds service options (collateral). */
  static async create(db: SqlDb, o: { chain?: InsecureSimChain; masterKey?: Uint8Array; roots?: readonly PinnedRoot[]; service?: FixtureServiceOptions } = {}): Promise<Fixture> {
    const store = new LicenseStore(db);
    await store.migrate();
    return new Fixture(store, o.chain ?? createInsecureSimChain(), o.masterKey ?? randomBytes(32), o.roots ?? [], o.service ?? {});
  }

  /** Calls the HTTP handler in-process; resolves to status and parsed body. */
  async call(method: string, url: string, body?: unknown, token: string | null = TEST_ADMIN_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await this.server.handle({
      method, url, ...(token !== null && url.startsWith('/v1/admin/') ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { body: utf8.encode(JSON.stringify(body)) } : {}),
    });
    return { status: r.status, body: r.body as Record<string, unknown> };
  }

  /**
   * Registers a model (`key`, default a fresh one; policy: `mrEnclave`, default the test
   * measurement; `monitor`, the extraction alarm's action, default none = report), a customer
   * `id` and a license over HTTP; throws unless each answers 200.
   */
  async licensed(id: string, o: { credits: number; maxInferences: number; key?: ProviderKey; mrEnclave?: string; monitor?: MonitorAction }): Promise<{ modelId: string; key: ProviderKey; licenseId: string }> {
    const key = o.key ?? testProviderKey(`model-${id}`);
    const ok = async (method: string, url: string, body: unknown): Promise<Record<string, unknown>> => {
      const r = await this.call(method, url, body);
      if (r.status !== 200) throw new Error(`${method} ${url} answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await ok('POST', '/v1/admin/models', { providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))), policy: { mrEnclave: [o.mrEnclave ?? TEST_MRENCLAVE_HEX], mrSigner: [], allowDebug: true, minIsvSvn: 0, ...(o.monitor ? { monitor: o.monitor } : {}) } });
    await ok('POST', '/v1/admin/customers', { id: `cust-${id}`, name: id });
    const lic = await ok('POST', '/v1/admin/licenses', { customerId: `cust-${id}`, modelId: key.modelId, credits: o.credits, offline: { maxInferences: o.maxInferences, maxSeconds: 86400 } });
    return { modelId: key.modelId, key, licenseId: lic.licenseId as string };
  }

  /** Challenge + provision of a fresh {@link TestEnclave} over HTTP; returns its enforcer. */
  async provision(s: { modelId: string; key: ProviderKey; licenseId: string }): Promise<LicenseEnforcer> {
    const c = await this.call('POST', '/v1/challenge', { licenseId: s.licenseId });
    const nonce = new Uint8Array(Buffer.from(c.body.nonce as string, 'base64url'));
    const enclave = new TestEnclave(this.chain);
    const a = enclave.attest(nonce);
    const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
    const p = await this.call('POST', '/v1/provision', { licenseId: s.licenseId, nonce: b64u(nonce), evidence: b64u(a.evidence), keyPub: b64u(a.keyPub) });
    if (p.status !== 200) throw new Error(`provision answered ${p.status}: ${JSON.stringify(p.body)}`);
    return enclave.provision({ modelId: s.modelId, nonce, evidence: a.evidence, wrapped: new Uint8Array(Buffer.from(p.body.wrapped as string, 'base64url')), providerKey: s.key.signingPublicKey, now: this.clock });
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
