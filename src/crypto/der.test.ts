import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as der from './der.ts';

const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

test('DER reader rejects what DER forbids', () => {
  assert.throws(() => der.decode(bytes('30 80 00 00')), /indefinite/);
  assert.throws(() => der.decode(bytes('04 81 01 00')), /non-minimal length/);
  assert.throws(() => der.decode(bytes('04 82 00 81' + '00'.repeat(0x81))), /non-minimal length/);
  assert.throws(() => der.decode(bytes('04 02 00')), /past the end/);
  assert.throws(() => der.decode(bytes('04 01 00 00')), /trailing bytes/);
  assert.throws(() => der.decode(bytes('1f 01 00')), /high tag/);
  assert.throws(() => der.decodeUnsigned(bytes('00 01')), /non-minimal INTEGER/);
  assert.throws(() => der.decodeUnsigned(bytes('80')), /negative/);
  assert.throws(() => der.decodeOid(bytes('2a 80 01')), /non-minimal OID/);
  assert.throws(() => der.decodeTime(der.decode(bytes('17 0d' + Buffer.from('250231000000Z').toString('hex')))), /invalid date/);
});

test('DER writer and reader agree', () => {
  for (const o of ['1.2.840.10045.4.3.2', '2.5.29.19', '1.2.840.113741.1.13.1.2.17', '2.999.3']) {
    assert.equal(der.decodeOid(der.decode(der.oid(o)).value), o);
  }
  for (const n of [0n, 1n, 127n, 128n, 255n, 256n, 2n ** 64n + 5n]) {
    assert.equal(der.decodeUnsigned(der.decode(der.integer(n)).value), n);
  }
  assert.deepEqual(der.integer(new Uint8Array([0, 0, 0x80])), bytes('02 02 00 80'));
  for (const d of ['2025-06-20T01:02:03Z', '1999-12-31T23:59:59Z', '2050-01-01T00:00:00Z']) {
    assert.equal(der.decodeTime(der.decode(der.time(new Date(d)))).toISOString(), d.replace('Z', '.000Z'));
  }
  const long = new Uint8Array(300).fill(7);
  const node = der.decode(der.seq(der.octetString(long), der.boolean(true)));
  const [a, b] = der.children(node);
  assert.deepEqual(a!.value, long);
  assert.deepEqual(b!.value, Uint8Array.of(0xff));
});
