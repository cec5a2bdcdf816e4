#!/usr/bin/env node
// Shows the Node 20 deadlock behind docs/decisions.md 43, with node:crypto alone: a key pair from
// generateKeyPairSync('x25519'), exported as a JWK, in a loop with a small young generation (so
// collections come often). Now and then a collection runs inside the export and destroys the
// key-generation job, whose destructor waits for the lock the export holds: the process sleeps
// for ever. The same loop over keys imported from random bytes (what src/crypto does) finishes.
//   node scripts/keygen-deadlock.mjs [runs (3)] [keys per run (100000)]
import { spawnSync } from 'node:child_process';

const runs = Number(process.argv[2] ?? 3), keys = Number(process.argv[3] ?? 100000);
const loops = {
  generateKeyPairSync: `const c = require('node:crypto'); for (let i = 0; i < ${keys}; i++) c.generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });`,
  'random bytes → PKCS#8': `const c = require('node:crypto'); const p = Buffer.from('302e020100300506032b656e04220420', 'hex');
    for (let i = 0; i < ${keys}; i++) c.createPublicKey(c.createPrivateKey({ key: Buffer.concat([p, c.randomBytes(32)]), format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });`,
};
for (const [name, code] of Object.entries(loops)) {
  let hung = 0;
  for (let r = 0; r < runs; r++) {
    // A finished run of 100000 keys takes ≈ 6 s (generateKeyPairSync) or ≈ 45 s (PKCS#8 import).
    const res = spawnSync(process.execPath, ['--max-semi-space-size=1', '-e', code], { timeout: keys * 1.5, env: {} });
    if (res.signal) hung++;
  }
  console.log(`${name}: ${hung} of ${runs} runs of ${keys} keys hung (limit ${keys * 1.5 / 1000} s)`);
}
