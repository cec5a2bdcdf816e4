import { PGlite } from '@electric-sql/pglite';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
const t0 = performance.now();
const lap = (s: string) => console.log(s, (performance.now() - t0).toFixed(0), 'ms');
if (process.argv[2] === 'make') {
  const pg = new PGlite();
  await pg.waitReady; lap('mem ready');
  const f = await pg.dumpDataDir(process.argv[3] as any);
  writeFileSync('/tmp/i13-ls/tpl.tar' + (process.argv[3] === 'gzip' ? '.gz' : ''), new Uint8Array(await f.arrayBuffer()));
  lap('dumped');
  await pg.close();
} else {
  rmSync('/tmp/i13-ls/d3', { recursive: true, force: true });
  const blob = new Blob([readFileSync(process.argv[3]!)]);
  lap('read');
  const pg = new PGlite('/tmp/i13-ls/d3', { loadDataDir: blob });
  await pg.waitReady; lap('ready from tpl');
  console.log(await pg.query('select 1 as x'));
  await pg.close(); lap('closed');
  const pg2 = new PGlite('/tmp/i13-ls/d3');
  await pg2.waitReady; lap('reopen ready');
  await pg2.close();
}
