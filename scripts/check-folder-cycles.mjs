#!/usr/bin/env node
// Fails when the top-level folders of src/ import each other in a cycle (docs/architecture.md).
// eslint's per-folder no-restricted-imports (eslint.config.js) keeps arrows pointing down the
// layers, but it sees only static imports and names no cycle; this script reads every import
// (static, dynamic, `import('…')` types) with TypeScript's own pre-parser, resolves it to a file,
// collapses files to their top-level folder and prints each cycle it finds, one line per edge.
// `--graph` prints the folder graph instead (one `from -> to (n imports)` line per edge).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Cycles the refactor of issue 15 has not broken yet (each a sorted folder list); they warn. */
const NOT_YET = [];

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** `src/enclave/host.ts` → `enclave`; `src/errors.ts` → `errors.ts`; outside src → `../examples` etc. */
function folderOf(file) {
  const rel = relative(src, file).split(sep);
  if (rel[0] === '..') return relative(root, file).split(sep)[0] + '/';
  return rel[0];
}

const edges = new Map(); // from → Map(to → [sample import])
for (const file of walk(src, [])) {
  if (file.endsWith('.test.ts') || file.endsWith('.testkit.ts')) continue; // tests and their helpers may reach across; the rule is about the code
  const from = folderOf(file);
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const to = folderOf(resolve(dirname(file), fileName));
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const list = edges.get(from).get(to) ?? [];
    list.push(`${relative(root, file)} imports ${fileName}`);
    edges.get(from).set(to, list);
  }
}

if (process.argv.includes('--graph')) {
  for (const [from, tos] of [...edges].sort()) {
    for (const [to, list] of [...tos].sort()) console.log(`${from} -> ${to} (${list.length})`);
  }
  process.exit(0);
}

// Tarjan's strongly connected components: every component of more than one folder is a cycle.
let index = 0;
const state = new Map();
const stack = [];
const cycles = [];
function connect(v) {
  state.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!state.has(w)) {
      connect(w);
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
    } else if (state.get(w).onStack) {
      state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
    }
  }
  if (state.get(v).low === state.get(v).index) {
    const component = [];
    let w;
    do { w = stack.pop(); state.get(w).onStack = false; component.push(w); } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const v of edges.keys()) if (!state.has(v)) connect(v);

let failed = false;
for (const component of cycles) {
  const known = NOT_YET.some((c) => c.join() === component.join());
  failed ||= !known;
  console.error(`check-folder-cycles: ${known ? 'warning (known, issue 15)' : 'error'}: src/ folders {${component.join(', ')}} import each other in a cycle:`);
  for (const from of component) {
    for (const to of component) {
      const list = edges.get(from)?.get(to);
      if (list) console.error(`  ${from} -> ${to}: ${list[0]}${list.length > 1 ? ` (+${list.length - 1} more)` : ''}`);
    }
  }
}
process.exit(failed ? 1 : 0);
