import type { Command } from './command.ts';

/**
 * Every command, by name. Loaded lazily so that `enclave-nn inspect` does not pay for the
 * license server's imports. Add one line per command: its summary lives here only.
 */
export const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  attack: { summary: 'Model-stealing evaluation: how much each split protects, beside its cost', load: async () => (await import('./commands/attack.ts')).default },
  bench: { summary: 'Measure every split: TEE vs CPU impact, setup, memory; write a report', load: async () => (await import('./commands/bench.ts')).default },
  demo: { summary: 'The main job: build the MNIST model, run every split through the enclave, write the report', load: async () => (await import('./commands/demo.ts')).default },
  admin: { summary: 'Manage the license server: models, customers, licenses, usage, audit, air-gapped fulfilment', load: async () => (await import('./commands/admin.ts')).default },
  attest: { summary: 'Verify an SGX DCAP quote against a pinned root, a policy and optional collateral', load: async () => (await import('./commands/attest.ts')).default },
  bundle: { summary: 'Show a sealed .enn bundle\'s public header, extract its head, or verify it with a key', load: async () => (await import('./commands/bundle.ts')).default },
  import: { summary: 'Convert a Keras (.h5, .keras) or TF.js (model.json) model to ONNX', load: async () => (await import('./commands/import.ts')).default },
  gramine: { summary: 'Write the Gramine SGX manifest template and program folder', load: async () => (await import('./commands/gramine.ts')).default },
  inspect: { summary: 'List a model\'s layers, shapes, parameters, FLOPs and cuts', load: async () => (await import('./commands/inspect.ts')).default },
  license: { summary: 'Customer licensing: air-gapped license requests, check-in (usage report → top-up)', load: async () => (await import('./commands/license.ts')).default },
  'license-server': { summary: 'Serve licenses: attestation-gated key provisioning, metered top-ups, admin API', load: async () => (await import('./commands/license-server.ts')).default },
  run: { summary: 'Run a bundle: the head here, the private tail in an enclave', load: async () => (await import('./commands/run.ts')).default },
  serve: { summary: 'Serve a bundle on the Open Inference Protocol v2 REST API (KServe v2), batched, metered', load: async () => (await import('./commands/serve.ts')).default },
  watermark: { summary: 'Verify whether a suspect model learned a bundle\'s answer watermark (verdict, p-value)', load: async () => (await import('./commands/watermark.ts')).default },
  split: { summary: 'Cut a model into a public head and a private tail (or a sealed .enn bundle)', load: async () => (await import('./commands/split.ts')).default },
};
