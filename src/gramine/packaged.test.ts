/**
 * The packaged SGX program without SGX hardware: `enclave-nn gramine manifest` writes a folder;
 * this test reads the manifest (TOML), starts exactly the file `loader.argv` names, through the
 * `fs.mounts` entry that maps it, with the manifest's arguments and environment, under plain
 * Node — the only substitution is `/dev/attestation`, imitated live by named pipes that answer
 * each REPORTDATA with a quote over it (signed by the sim chain: no SGX CPU signs here) — and
 * drives HELLO, ATTEST, PROVISION, LOAD, FORWARD, SEAL, UNSEAL against the unsplit model.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQuote } from '../attest/quote.ts';
import { createInsecureSimQuote, loadOrCreateInsecureSimChain, simRootFingerprint } from '../attest/sim.ts';
import { pinnedRoot } from '../attest/roots.ts';
import { verifyQuote } from '../attest/verify.ts';
import { createBundle } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { runMain } from '../cli/cli.testkit.ts';
import { randomBytes, sha256 } from '../crypto/index.ts';
import { EnclaveProcess } from '../enclave/host.ts';
import { isErrorCode } from '../errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import { maxAbsDiff, randomFeeds, runOnnx } from '../onnx/ort.ts';
import { mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { imitatedSgxSealKeys, serveDevAttestation, type LiveDevAttestation } from '../platform/support.testkit.ts';
import { insecureDevKeyProvider } from '../runtime/insecure-dev-key.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { splitModel } from '../split/extract.ts';
import { GRAMINE_HELPER_THREADS } from './manifest.ts';
import { parseTomlSubset, type TomlTable } from './toml.testkit.ts';

const home = useTempEnclaveHome();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// The folder `gramine manifest` writes, at security version 2.
const out = join(mkdtempSync(join(tmpdir(), 'enn-packaged-')), 'sgx');
// In-process; gramine's real-process test is in manifest.test.ts.
const made = await runMain(['gramine', 'manifest', '-o', out, '--isvsvn', '2']);
assert.equal(made.code, 0, made.stderr);
const manifestText = readFileSync(join(out, 'enclave-nn.manifest.template'), 'utf8');
const manifest = parseTomlSubset(manifestText);
const loader = manifest.loader as TomlTable;
const sgx = manifest.sgx as TomlTable;

/** The host path of an in-enclave path, through the manifest's fs.mounts (relative URIs from the manifest's folder). */
function hostPath(inside: string): string {
  const mount = ((manifest.fs as TomlTable).mounts as TomlTable[])
    .filter((m) => typeof m.uri === 'string' && (inside === m.path || inside.startsWith(`${m.path as string}/`)))
    .sort((a, b) => (b.path as string).length - (a.path as string).length)[0];
  assert.ok(mount, `${inside} is inside a mount`);
  const uri = (mount.uri as string).replace(/^file:/, '');
  return join(uri.startsWith('/') ? '' : out, uri, inside.slice((mount.path as string).length));
}

const argv = loader.argv as string[];
const entryIndex = argv.findIndex((a) => a.startsWith('/enclave-nn/'));
const entry = hostPath(argv[entryIndex]!);
// What gramine-sgx would start: the manifest's node with the manifest's arguments, nothing from the host.
const args = [...argv.slice(1, entryIndex), entry, ...argv.slice(entryIndex + 1)];

// The enclave's identity as SGX would report it: MRENCLAVE stands in as the manifest's hash
// (gramine-sgx-sign would measure every trusted file), the signer is a fixed key, and
// ISVPRODID / ISVSVN are the manifest's.
const chain = loadOrCreateInsecureSimChain(join(home, 'insecure-sim'));
const identity = { mrEnclave: sha256(new TextEncoder().encode(manifestText)), mrSigner: sha256(new TextEncoder().encode('provider signing key')), isvProdId: sgx.isvprodid as number, isvSvn: sgx.isvsvn as number };
const cpuSecret = randomBytes(32);
const live: LiveDevAttestation[] = [];
function attestation(): LiveDevAttestation {
  const a = serveDevAttestation((reportData) => createInsecureSimQuote({ ...identity, reportData }, chain), imitatedSgxSealKeys(cpuSecret, identity));
  live.push(a);
  return a;
}
after(async () => { for (const a of live) await a.close(); });

/**
 * Starts the packaged program as the manifest says: its node, its arguments, and only its
 * `loader.env` (through `env -i`, as Gramine gives the enclave no host variable), with two
 * substitutions for this machine: the imitation's folder for /dev/attestation, and a temporary
 * home for the in-enclave tmpfs (LD_LIBRARY_PATH holds Gramine template variables; plain Node
 * does not need it).
 */
async function startPackaged(a: LiveDevAttestation): Promise<EnclaveProcess> {
  const vars = { ...(loader.env as Record<string, string>), ENCLAVE_NN_ATTESTATION_DIR: a.dir, ENCLAVE_NN_HOME: join(home, 'in-enclave') };
  delete (vars as Record<string, string | undefined>).LD_LIBRARY_PATH;
  const assignments = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  return EnclaveProcess.start({ platform: 'gramine-sgx', onStderr: () => undefined, launcher: () => ({ file: 'env', args: ['-i', ...assignments, argv[0]!, ...args], cwd: out }) });
}

const split = await splitModel(mlpModel(), { privateLayers: 2 });
function bundleFor(minIsvSvn: number) {
  return createBundle({
    head: encodeModel(split.head!), tail: encodeModel(split.tail), inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
    // The upgrade-friendly policy: any MRENCLAVE by this signer, from this security version on.
    policy: { platforms: [{ kind: 'gramine-sgx', measurements: [], mrSigners: [hex(identity.mrSigner)], minIsvSvn }] },
  });
}

test('the file loader.argv names is the packaged gramine-sgx program, started by the manifest\'s node', () => {
  assert.equal(argv[0], process.execPath, 'the manifest names this node');
  assert.equal((manifest.libos as TomlTable).entrypoint, argv[0]);
  assert.ok(existsSync(entry) && entry === join(out, 'enclave-nn', 'trusted-main.cjs'), entry);
  assert.deepEqual(args.slice(-8), ['--platform', 'gramine-sgx', '--engine', 'ort', '--seal', 'mrsigner', '--ort-threads', '2']);
});

test('packaged program: HELLO, ATTEST, PROVISION, LOAD, FORWARD over the imitated /dev/attestation give the unsplit model\'s outputs', async (t) => {
  const { bytes, providerKey } = bundleFor(2);
  const bundle = readBundle(bytes);
  const a = attestation();
  const e = await startPackaged(a);
  try {
    assert.equal(e.hello.platformKind, 'gramine-sgx');
    assert.equal(hex(e.hello.measurement), hex(identity.mrEnclave), 'the measurement comes from the enclave\'s own quote');
    // ATTEST: a quote over SHA-512(enclave key ‖ nonce) that verifies (here under the sim root).
    const nonce = randomBytes(32);
    const { evidence } = await e.attest(nonce);
    const v = verifyQuote(evidence, { roots: [pinnedRoot('sim', simRootFingerprint(chain))], at: new Date(), policy: { mrEnclave: [hex(identity.mrEnclave)], allowDebug: true } });
    assert.deepEqual([v.mrSigner, v.isvSvn], [hex(identity.mrSigner), 2]);
    assert.equal(parseQuote(evidence).body.isvProdId, identity.isvProdId);
    await insecureDevKeyProvider(providerKey).provision(e, bundle); // ATTEST again, then PROVISION
    await e.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
    const feeds = randomFeeds(split.inputs, 3, seededRandom(7));
    const cut = await runOnnx(split.head!, feeds);
    const got = await e.forward(Object.fromEntries(split.cutTensors.map((t) => [t.name, cut[t.name]!])));
    const want = await runOnnx(mlpModel(), feeds);
    for (const [name, t] of Object.entries(want)) assert.ok(maxAbsDiff(got.outputs[name]!, t) <= 1e-5, `${name} equals the unsplit model`);
    // The threads it runs fit the manifest's sgx.max_threads, less Gramine's own helpers.
    const threads = readdirSync(`/proc/${e.pid}/task`).length;
    t.diagnostic(`the packaged program runs ${threads} threads after FORWARD; sgx.max_threads = ${String(sgx.max_threads)}`);
    assert.ok(threads <= (sgx.max_threads as number) - GRAMINE_HELPER_THREADS, `${threads} threads fit sgx.max_threads = ${String(sgx.max_threads)}`);
    assert.ok(a.served >= 3, 'every quote came through the live imitation');
  } finally {
    await e.close();
  }
});

test('packaged program: a bundle asking for a newer security version is refused at LOAD; sealed state reopens in a new process', async () => {
  const strict = bundleFor(3);
  const e = await startPackaged(attestation());
  let blob: Uint8Array;
  const ok = bundleFor(2);
  try {
    const b = readBundle(strict.bytes);
    await insecureDevKeyProvider(strict.providerKey).provision(e, b);
    await assert.rejects(e.load(b.headerBytes, b.signature, b.sealedTail.chunks), (err) => isErrorCode(err, 'ENCLAVE_POLICY') && /security version 2/.test((err as Error).message));
    const g = readBundle(ok.bytes);
    await insecureDevKeyProvider(ok.providerKey).provision(e, g);
    blob = await e.seal();
  } finally {
    await e.close();
  }
  const again = await startPackaged(attestation());
  try {
    assert.equal(await again.unseal(blob), readBundle(ok.bytes).header.modelId, 'the MRSIGNER key of this CPU, product and version opens it');
  } finally {
    await again.close();
  }
});
