// A node:test reporter for scripts/run-tests.mjs: one JSON line per failed test, with the file it
// is in, so the runner can tell a file it killed as hung from a file whose tests failed. The
// human-readable report is the TAP reporter's, on stdout; this one writes to a file.
export default async function* testEvents(source) {
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { file, name, nesting } = event.data;
    yield JSON.stringify({ file: file ?? null, name, nesting }) + '\n';
  }
}
