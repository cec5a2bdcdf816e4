import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateP256KeyPair } from './ecdsa.ts';
import { certificateToPem, isIssuedBy, isValidAt, parseCertificate, parsePemCertificates } from './x509.ts';
import { createCertificate, createCrl } from './x509-build.ts';
import { isCrlCurrentAt, isCrlIssuedBy, parseCrl } from './x509-crl.ts';

const nb = new Date('2025-01-01T00:00:00Z');
const na = new Date('2026-01-01T00:00:00Z');
const rootKey = generateP256KeyPair();
const leafKey = generateP256KeyPair();
const rootDer = createCertificate({ subjectCN: 'R', publicKey: rootKey.publicKey, notBefore: nb, notAfter: na, isCA: true }, undefined, rootKey.privateKey);
const root = parseCertificate(rootDer);
const leafDer = createCertificate({ subjectCN: 'L', publicKey: leafKey.publicKey, notBefore: nb, notAfter: na, isCA: false }, { subjectDer: root.subjectDer, privateKey: rootKey.privateKey });

test('built certificates parse, chain and carry their fields', () => {
  const leaf = parseCertificate(leafDer);
  assert.equal(root.isCA, true);
  assert.equal(leaf.isCA, false);
  assert.equal(leaf.subjectCN, 'L');
  assert.equal(leaf.issuerCN, 'R');
  assert.deepEqual(leaf.publicKey, leafKey.publicKey);
  assert.ok(isIssuedBy(root, root));
  assert.ok(isIssuedBy(leaf, root));
  assert.ok(!isIssuedBy(root, leaf));
  assert.ok(isValidAt(leaf, new Date('2025-06-01T00:00:00Z')));
  assert.ok(!isValidAt(leaf, new Date('2026-01-01T00:00:01Z')));
  // A leaf signed by another key with the same issuer name does not chain.
  const other = generateP256KeyPair();
  const forged = parseCertificate(createCertificate({ subjectCN: 'L', publicKey: leafKey.publicKey, notBefore: nb, notAfter: na, isCA: false }, { subjectDer: root.subjectDer, privateKey: other.privateKey }));
  assert.ok(!isIssuedBy(forged, root));
});

test('PEM chains are parsed strictly', () => {
  const pem = certificateToPem(leafDer) + certificateToPem(rootDer);
  assert.equal(parsePemCertificates(pem).length, 2);
  assert.equal(parsePemCertificates(pem + '\0').length, 2);
  assert.throws(() => parsePemCertificates(pem + '\0\0'), /unexpected text/);
  assert.throws(() => parsePemCertificates(pem + 'x'), /unexpected text/);
  assert.throws(() => parsePemCertificates('junk' + pem), /unexpected text/);
  assert.throws(() => parsePemCertificates(''), /no certificate/);
  // A base64 character whose bits fall in the padding decodes to the same bytes: refused.
  let padded = rootDer;
  while (padded.length % 3 === 0) padded = createCertificate({ subjectCN: 'R', publicKey: rootKey.publicKey, notBefore: nb, notAfter: na, isCA: true }, undefined, rootKey.privateKey);
  const body = certificateToPem(padded);
  const m = /([A-Za-z0-9+/])(=+)\n-----END/.exec(body)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const c = alphabet[alphabet.indexOf(m[1]!) ^ 1]!;
  const lenient = body.replace(m[0], `${c}${m[2]}\n-----END`);
  assert.deepEqual(Buffer.from(lenient.split('\n').slice(1, -2).join(''), 'base64'), Buffer.from(padded)); // node alone would accept it
  assert.throws(() => parsePemCertificates(lenient), /canonical/);
  assert.throws(() => parseCertificate(new Uint8Array([...rootDer, 0])), /trailing bytes/);
});

test('CRLs built and parsed: issuer, window and revoked serials', () => {
  const leaf = parseCertificate(leafDer);
  const crl = parseCrl(createCrl({ thisUpdate: nb, nextUpdate: na, revokedSerials: [leaf.serialHex] }, { subjectDer: root.subjectDer, privateKey: rootKey.privateKey }));
  assert.ok(isCrlIssuedBy(crl, root));
  assert.ok(!isCrlIssuedBy(crl, leaf));
  assert.ok(crl.revokedSerials.has(leaf.serialHex));
  assert.ok(isCrlCurrentAt(crl, new Date('2025-03-01T00:00:00Z')));
  assert.ok(!isCrlCurrentAt(crl, new Date('2026-03-01T00:00:00Z')));
});

test('a critical extension the verifier does not process is refused (RFC 5280 §4.2)', () => {
  const k = generateP256KeyPair();
  const mk = (critical: boolean) => createCertificate({ subjectCN: 'X', publicKey: k.publicKey, notBefore: nb, notAfter: na, isCA: false, extraExtensions: [{ oid: '1.2.3.4', critical, value: Uint8Array.of(5, 0) }] }, undefined, k.privateKey);
  assert.equal(parseCertificate(mk(false)).extensions.get('1.2.3.4')?.critical, false);
  assert.throws(() => parseCertificate(mk(true)), /unsupported critical extension 1\.2\.3\.4/);
});
