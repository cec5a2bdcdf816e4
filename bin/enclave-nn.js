#!/usr/bin/env node
// The enclave-nn command. An installed package runs the compiled dist/ under plain node. A
// checkout (src/ present and tsx installed) runs the TypeScript sources through tsx, so an edit
// takes effect without a rebuild and the tests spawn the code they test; ENCLAVE_NN_DIST=1
// runs dist/ there too (docs/decisions.md: "The CLI in a checkout runs the sources").
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (process.env.ENCLAVE_NN_DIST !== '1' && existsSync(source)) {
  const tsx = await import('tsx/esm/api').catch(() => undefined);
  if (tsx) {
    tsx.register();
    ({ main } = await import(source.href));
  }
}
if (!main) ({ main } = await import('../dist/src/cli/main.js'));
process.exitCode = await main(process.argv.slice(2));
