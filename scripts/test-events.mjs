// A node:test reporter for scripts/run-tests.mjs: one JSON line per failed test, naming the file it
// is in, so the runner can tell a file it killed as hung from a file whose tests failed. The
// human-readable report is the TAP reporter's, on stdout; this one writes to a file.
export default async function* testEvents(source) {
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    yield JSON.stringify({ file: event.data.file ?? null }) + '\n';
  }
}
