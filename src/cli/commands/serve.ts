import { EnclaveNnError } from '../../errors.ts';
import { intOption, ortThreadsOption, parseCommandArgs, required } from '../args.ts';
import { untilStopped, type Command } from '../command.ts';

const usage = `usage: enclave-nn serve <model.enn>
                (--insecure-dev-key provider.key | --server URL --license ID | --license-file license.json)
                [--host 127.0.0.1] [--port 8000] [--name NAME] [--enclaves N] [--max-batch B] [--max-wait-ms W]
                [--token T] [--max-body-size BYTES] [--queue-timeout-ms MS] [--checkin-interval-s S]
                [--license-state FILE] [--reprovision] [--engine ort|wasm] [--platform sim] [--ort-threads N]

Serves the model on the Open Inference Protocol v2 REST API (KServe v2; docs/serve.md):
GET /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME, /v2/models/NAME/ready and
POST /v2/models/NAME/infer (JSON tensors or the binary tensor data extension). The head runs
here on onnxruntime, the tail in N prewarmed enclaves; requests are batched into one FORWARD
of up to B samples, waiting at most W ms (--max-batch 1: no batching). Runs until SIGINT/SIGTERM.

  --name NAME           the model's name in the URLs. Default: the bundle file's name without .enn
  --host H              address to listen on. Default 127.0.0.1 (loopback). Any other address
                        prints a warning: without --token the endpoint has no authentication
  --token T             require "Authorization: Bearer T" on every route but /v2/health/*
  --enclaves N          enclaves serving in parallel, each provisioned on its own. Default 1
  --max-batch B         most samples in one FORWARD. Default 32
  --max-wait-ms W       longest a request waits for its batch to fill. Default 2
  --max-body-size BYTES larger request bodies get 413. Default 67108864 (64 MiB)
  --queue-timeout-ms MS a request still queued after MS gets 503, unrun and uncounted. Default 30000
  --server URL --license ID   provision from the license server; check in with it every
                        --checkin-interval-s (default 300) and when credits run out
  --license-state FILE  the sealed license state (enclave i > 0: FILE.i). Default <model.enn>.<license id>.license
  --reprovision         a state file that does not open is refused unless this is given: then the
                        enclave provisions again, spending new credits (or restarts from the license file)
  --insecure-dev-key K  the provider's key on this machine: INSECURE, for development only
  --ort-threads N       onnxruntime intra-op threads in each enclave. Default onnxruntime's (one per
                        core); 1 is faster for small tails (docs/results/ort-threads.md)

Quota exhausted: HTTP 429 with {"error": "..."}; other license refusals: 403.`;

const command: Command = {
  name: 'serve',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('serve', argv, {
      host: { type: 'string' }, port: { type: 'string' }, name: { type: 'string' }, enclaves: { type: 'string' },
      'max-batch': { type: 'string' }, 'max-wait-ms': { type: 'string' }, token: { type: 'string' },
      'max-body-size': { type: 'string' }, 'queue-timeout-ms': { type: 'string' }, 'checkin-interval-s': { type: 'string' },
      'insecure-dev-key': { type: 'string' }, server: { type: 'string' }, license: { type: 'string' },
      'license-file': { type: 'string' }, 'license-state': { type: 'string' }, reprovision: { type: 'boolean' }, engine: { type: 'string' }, platform: { type: 'string' }, 'ort-threads': { type: 'string' },
    });
    const bundlePath = required('serve', 'the bundle file', positionals[0]);
    const devKey = values['insecure-dev-key'];
    if ([devKey, values.server, values['license-file']].filter((v) => v !== undefined).length !== 1) {
      throw new EnclaveNnError('USAGE', "Cannot run 'serve': give one of --insecure-dev-key provider.key (development), --server URL --license ID, or --license-file license.json");
    }
    const positive = (flag: string, v: string | undefined, d: number): number => {
      const n = intOption('serve', flag, v, d);
      if (n < (flag === '--max-wait-ms' ? 0 : 1)) throw new EnclaveNnError('USAGE', `Cannot run 'serve': ${flag} must be ${flag === '--max-wait-ms' ? '≥ 0' : '≥ 1'}, got ${n}`);
      return n;
    };
    const port = intOption('serve', '--port', values.port, 8000);
    const enclaves = positive('--enclaves', values.enclaves, 1);
    const maxBatch = positive('--max-batch', values['max-batch'], 32);
    const maxWaitMs = positive('--max-wait-ms', values['max-wait-ms'], 2);
    const maxBodySize = positive('--max-body-size', values['max-body-size'], 64 * 1024 * 1024);
    const queueTimeoutMs = positive('--queue-timeout-ms', values['queue-timeout-ms'], 30_000);
    const checkinIntervalMs = positive('--checkin-interval-s', values['checkin-interval-s'], 300) * 1000;
    if (values.token !== undefined && values.token.length < 16) throw new EnclaveNnError('USAGE', "Cannot run 'serve': --token must be at least 16 characters (a guessable token is no authentication)");
    if (values['license-file'] !== undefined && enclaves > 1) throw new EnclaveNnError('USAGE', "Cannot run 'serve': a license file provisions one enclave; use --enclaves 1 or a license server");

    const [{ InferenceServer }, { readBundleFile }] = await Promise.all([import('../../serve/index.ts'), import('../../bundle/file.ts')]);
    const bundle = await readBundleFile(bundlePath);
    let keySource: Parameters<typeof InferenceServer.create>[0]['keySource'];
    let license: Parameters<typeof InferenceServer.create>[0]['license'];
    if (devKey !== undefined) {
      keySource = () => ({ kind: 'insecure-dev-key', providerKey: devKey });
    } else if (values['license-file'] !== undefined) {
      const { licenseFileKeyProvider } = await import('../../license/air-gap.ts');
      const file = values['license-file'];
      const stateFile = values['license-state'] ?? `${file}.state`;
      keySource = () => licenseFileKeyProvider({ file, stateFile, reprovision: values.reprovision === true });
      license = undefined; // air-gapped: no server to check in with (enclave-nn license checkin does it by hand)
    } else {
      const { licenseServerKeyProvider } = await import('../../license/client.ts');
      const server = values.server!;
      const licenseId = required('serve', '--license', values.license);
      const base = values['license-state'] ?? `${bundlePath}.${licenseId}.license`;
      const stateFile = (i: number): string => (i === 0 ? base : `${base}.${i}`);
      keySource = (i) => licenseServerKeyProvider({ server, licenseId, stateFile: stateFile(i), reprovision: values.reprovision === true });
      license = { server, stateFile, checkinIntervalMs };
    }
    const name = values.name ?? bundlePath.replace(/^.*\//, '').replace(/\.enn$/, '');
    const server = await InferenceServer.create({
      bundle, name, keySource, enclaves, maxBatch, maxWaitMs, maxBodySize, queueTimeoutMs,
      ...(license ? { license } : {}), ...(values.token !== undefined ? { token: values.token } : {}),
      session: { engine: values.engine, platform: values.platform, ...(values['ort-threads'] === undefined ? {} : { enclave: { ortThreads: ortThreadsOption('serve', values['ort-threads']) } }) },
      log: (l) => io.stderr(l + '\n'),
    });
    let url: string;
    try {
      ({ url } = await server.listen(port, values.host ?? '127.0.0.1'));
    } catch (e) {
      await server.close();
      throw new EnclaveNnError('SERVE_LISTEN', `Cannot listen on ${values.host ?? '127.0.0.1'}:${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    io.stdout(`serve: model '${name}' on ${url}/v2/models/${encodeURIComponent(name)} (${enclaves} enclave${enclaves > 1 ? 's' : ''}, max batch ${maxBatch}, max wait ${maxWaitMs} ms)\n`);
    await untilStopped(io);
    await server.close();
    return 0;
  },
};
export default command;
