import { EnclaveNnError } from '../../errors.ts';
import { writeFilesAtomic } from '../../util/atomic-write.ts';
import { ortThreadsOption, parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';
import { RowProgress } from '../progress.ts';

const usage = `usage: enclave-nn run <model.enn> --input x.npy|x.json [--input NAME=FILE …] [--output y.npy|y.json|y.csv] [--json]
                [--engine ort|wasm] [--platform sim] [--ort-threads N]
                (--insecure-dev-key provider.key | [--server URL] --license ID | --license-file license.json)
                [--license-state FILE] [--reprovision] [--allow-nonfinite]

Runs the model: the public head here, the private tail in an enclave. Prints every output
and, for classifiers, the argmax of each row. Input: .npy (float32/float64/int64/int32/uint8/bool,
C order; float64 and uint8 become float32, value by value, when the model takes float32) or JSON
({"<input>": nested arrays}, or a nested array for a single-input model). A .npy input is read
a chunk of rows at a time, and the rows go to the enclave in as many FORWARDs as the 64 MiB frame
limit needs; on a terminal, stderr shows a progress line (rows/s, time left).
--output writes the outputs by extension: .npy or .csv (several outputs: y.<name>.npy), or .json
(one file, all outputs).
--insecure-dev-key reads the provider's key on this machine: INSECURE, for development only.
--license ID without --server uses the license server the bundle names (split --license-server).
With a license, the enclave's sealed license state (counters) is kept in --license-state
(default <model.enn>.<license id>.license, or <license.json>.state): later runs start offline
from it; on an exhausted quota, run checks in with the server once and retries. A state file
that does not open (damaged, or sealed elsewhere) is refused; --reprovision provisions again
instead, which spends new credits (or starts again from license.json).
A NaN or Inf in a float input is refused before anything runs (naming the tensor and the first
index) unless --allow-nonfinite is given.
--ort-threads N: onnxruntime intra-op threads in the enclave (default: onnxruntime's, one per
core). 1 is faster for small tails (under ~10 M FLOPs per call, docs/results/ort-threads.md) and
leaves a core for the host to wait on the answer; the Gramine manifest fixes its own.`;

const command: Command = {
  name: 'run',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('run', argv, {
      input: { type: 'string', multiple: true, short: 'i' }, output: { type: 'string', short: 'o' }, json: { type: 'boolean' },
      engine: { type: 'string' }, platform: { type: 'string' }, 'insecure-dev-key': { type: 'string' },
      server: { type: 'string' }, license: { type: 'string' }, 'license-state': { type: 'string' }, 'license-file': { type: 'string' },
      reprovision: { type: 'boolean' }, 'allow-nonfinite': { type: 'boolean' }, 'ort-threads': { type: 'string' },
    });
    const enclave = values['ort-threads'] === undefined ? undefined : { ortThreads: ortThreadsOption('run', values['ort-threads']) };
    const reprovision = values.reprovision === true;
    const allowNonfinite = values['allow-nonfinite'] ?? false;
    const bundlePath = required('run', 'the bundle file', positionals[0]);
    const inputs = required('run', '--input', values.input);
    const devKey = values['insecure-dev-key'];
    if ([devKey, values.server ?? values.license, values['license-file']].filter((v) => v !== undefined).length !== 1) {
      throw new EnclaveNnError('USAGE', "Cannot run 'run': give one of --insecure-dev-key provider.key (development), [--server URL] --license ID, or --license-file license.json");
    }
    const [{ readBundleFile }, { Session }, { openInputs, describeOutputs, encodeOutputs, outputsJson }, { concatRows }] = await Promise.all([
      import('../../bundle/file.ts'), import('../../runtime/session.ts'), import('../../runtime/inputs.ts'), import('../../runtime/rows.ts'),
    ]);
    const bundle = await readBundleFile(bundlePath);
    // Check the output format before any work: a typo in the extension costs nothing.
    if (values.output) encodeOutputs(values.output, {});
    // Read and check the first row before starting an enclave: a bad input costs nothing.
    const source = openInputs(inputs, bundle.header.headInputs);
    let pool: import('../../enclave/pool.ts').EnclavePool | undefined;
    try {
      const { checkFeeds } = await import('../../runtime/session.ts');
      checkFeeds(bundle.header.headInputs, source.read(0, Math.min(1, source.rows)), { allowNonfinite });
      // NaN/Inf anywhere is refused before an enclave starts: no credit is spent on earlier chunks.
      const SCAN_ROWS = 4096;
      if (!allowNonfinite) for (let start = 1; start < source.rows; start += SCAN_ROWS) checkFeeds(bundle.header.headInputs, source.read(start, Math.min(SCAN_ROWS, source.rows - start)), { firstRow: start });
      // The enclave boots while the rest of the input is scanned and the key source is set up.
      pool = Session.prewarmFor(bundle, { engine: values.engine, platform: values.platform, ...(enclave ? { enclave } : {}) });
      let keySource;
      let licensed: { server?: string; stateFile: string } | undefined;
      if (devKey !== undefined) {
        keySource = { kind: 'insecure-dev-key' as const, providerKey: devKey };
      } else if (values['license-file'] !== undefined) {
        const { licenseFileKeyProvider } = await import('../../license/air-gap.ts');
        licensed = { stateFile: values['license-state'] ?? `${values['license-file']}.state` };
        keySource = licenseFileKeyProvider({ file: values['license-file'], stateFile: licensed.stateFile, reprovision });
      } else {
        const { licenseServerKeyProvider } = await import('../../license/client.ts');
        const licenseId = required('run', '--license', values.license);
        // --server wins; else the server the provider named at split time (bundle header, signed).
        const server = values.server ?? bundle.header.licenseServer;
        if (server === undefined) throw new EnclaveNnError('USAGE', `Cannot run 'run': --license ${licenseId} needs --server URL (the bundle names no license server)`);
        // The sealed license state lives next to the bundle by default: the next run starts offline from it.
        licensed = { server, stateFile: values['license-state'] ?? `${bundlePath}.${licenseId}.license` };
        keySource = licenseServerKeyProvider({ server, stateFile: licensed.stateFile, licenseId, reprovision });
      }
      const session = await Session.create({ bundle, keySource, engine: values.engine, platform: values.platform, ...(enclave ? { enclave } : {}), allowNonfinite, pool });
      const parts = [];
      try {
        const runChunk = licensed
          ? async (f: Parameters<typeof session.run>[0]) => (await import('../../license/client.ts')).runLicensed(session, f, licensed)
          : (f: Parameters<typeof session.run>[0]) => session.run(f);
        // One FORWARD per chunk: a refused chunk (quota) is retried alone after the check-in.
        const chunk = source.rows > 1 ? await session.rowsPerFrame(source.read(0, 1)) : 1; // Infinity: a fixed batch, one FORWARD
        const progress = new RowProgress(source.rows, io.stderr, io.stderrIsTTY === true);
        for (let start = 0; start < Math.max(source.rows, 1); start += chunk) {
          parts.push(await runChunk(source.read(start, Math.min(chunk, source.rows - start))));
          progress.update(Math.min(start + chunk, source.rows));
        }
        progress.done();
      } finally {
        await session.close();
      }
      const outputs = concatRows(parts);
      if (values.output) {
        const files = encodeOutputs(values.output, outputs);
        writeFilesAtomic(files);
        for (const f of files) io.stderr(`wrote ${f.path}\n`);
      }
      io.stdout(values.json ? outputsJson(outputs) + '\n' : describeOutputs(outputs));
    } finally {
      await pool?.close();
      source.close();
    }
    return 0;
  },
};
export default command;
