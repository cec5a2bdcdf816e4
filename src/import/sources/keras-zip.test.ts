// The .keras importer against zip bombs: an entry is refused before it inflates beyond
// max(16 MiB, 100 × its compressed size) or its declared size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync } from 'fflate';
import { isErrorCode } from '../../errors.ts';
import { MAX_INFLATE_RATIO, MIN_INFLATE_ALLOWANCE, readKerasZip } from './keras-zip.ts';

const config = new TextEncoder().encode(JSON.stringify({ class_name: 'Sequential', config: { layers: [] } }));

test('a .keras whose weights entry is a zip bomb (64 MiB of zeros in ~64 KiB) is refused once it passes the 16 MiB allowance', async () => {
  const bomb = zipSync({ 'config.json': config, 'model.weights.h5': new Uint8Array(64 * 1024 * 1024) }, { level: 9 });
  assert.ok(bomb.byteLength < 200_000, `${bomb.byteLength} bytes`);
  await assert.rejects(readKerasZip(bomb, 'bomb.keras'), (e: Error) => isErrorCode(e, 'IMPORT_ZIP_LIMIT')
    && new RegExp(`Cannot import bomb\\.keras: model\\.weights\\.h5 inflates beyond ${MIN_INFLATE_ALLOWANCE} bytes \\(declared 67108864, \\d+ compressed; at most ${MAX_INFLATE_RATIO}× is accepted\\): refused as a zip bomb`).test(e.message));
});

test('an entry that inflates beyond its declared size is refused', async () => {
  const zip = zipSync({ 'config.json': config, 'model.weights.h5': new Uint8Array(1000) }, { level: 9 });
  // Rewrite the weights entry's declared uncompressed size (local header offset 22, central directory offset 24) to 10.
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const name = new TextEncoder().encode('model.weights.h5');
  for (let i = 0; i + 4 <= zip.byteLength; i++) {
    const sig = view.getUint32(i, true);
    const nameAt = sig === 0x04034b50 ? i + 30 : sig === 0x02014b50 ? i + 46 : -1;
    if (nameAt < 0 || !name.every((b, k) => zip[nameAt + k] === b)) continue;
    view.setUint32(sig === 0x04034b50 ? i + 22 : i + 24, 10, true);
  }
  await assert.rejects(readKerasZip(zip, 'lies.keras'), (e: Error) => isErrorCode(e, 'IMPORT_ZIP_LIMIT') && /model\.weights\.h5 inflates beyond 10 bytes \(declared 10/.test(e.message));
});
