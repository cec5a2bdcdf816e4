// The library from plain Node (README "Library"): a licensed session on a bundle, one batch
// from an .npy file. `node library.mjs [model.enn] [x.npy] [server URL] [license id]`; without
// a server, the provider key file (INSECURE, development only).
import { readFileSync } from 'node:fs';
import { Session, licenseServerKeyProvider, insecureDevKeyProvider, readNpy } from 'enclave-nn';

const [bundle = 'model.enn', input = 'x.npy', server, licenseId = 'lic-acme'] = process.argv.slice(2);
const keySource = server
  ? licenseServerKeyProvider({ server, licenseId, stateFile: `${bundle}.${licenseId}.license` })
  : insecureDevKeyProvider(`${bundle}.key`);
const session = await Session.create({ bundle, keySource });
try {
  const [feed] = session.inputs; // the model's input: its name, dtype and shape
  const outputs = await session.run({ [feed.name]: readNpy(readFileSync(input)) });
  for (const [name, t] of Object.entries(outputs)) console.log(`${name} ${t.dtype}[${t.dims.join(',')}]: ${Array.from(t.data.slice(0, 10), Number).map((v) => v.toFixed(4)).join(' ')}`);
} finally {
  await session.close();
}
