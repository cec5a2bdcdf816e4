// Lint: typescript-eslint's recommended rules, plus the project's structural rules:
// 1. only src/crypto/ imports node:crypto (all cryptography lives in one audited folder);
// 2. the layers of src/ (docs/architecture.md): a top-level folder of src/ imports only folders of
//    a LOWER layer (never its own layer's peers, never a higher one), and nothing in src/ imports
//    examples/, bench/ or scripts/. scripts/check-folder-cycles.mjs adds what eslint cannot see
//    (dynamic imports) by failing on any cycle between the folders;
// 3. only tests (*.test.ts) and test helpers (*.testkit.ts) import test helpers or node:test, so
//    nothing the package ships (src/index.ts and what it reaches) pulls in test code. bench/ and
//    scripts/ are development tools outside the package and may use test helpers;
// 4. nothing calls node:crypto's generateKeyPair(Sync) (a Node 20 deadlock, below).
import { readdirSync } from 'node:fs';
import tseslint from 'typescript-eslint';

/**
 * The layers, top first. An entry is a top-level folder of src/ (or a file directly in src/).
 * Moving a folder between layers, or adding one, is a design decision: docs/decisions.md.
 */
export const LAYERS = [
  ['cli', 'index.ts'],
  ['serve'],
  ['attack', 'bench', 'license', 'gramine', 'watermark', 'load.ts'],
  ['runtime'],
  ['enclave'],
  ['platform'],
  ['license-format'],
  ['bundle', 'attest', 'enclave-protocol'],
  ['crypto', 'split', 'import', 'report', 'datasets'],
  ['onnx', 'tfjs'],
  ['util'],
  ['errors.ts'],
];

/** Arrows the refactor of issue 15 has not removed yet: `file → folder it may not import`. */
const NOT_YET = {
};

// A new folder of src/ must be given a layer before it lints (a folder without one is unchecked).
const unplaced = readdirSync(new URL('./src/', import.meta.url)).filter((e) => !LAYERS.flat().includes(e));
if (unplaced.length > 0) throw new Error(`eslint.config.js: give src/${unplaced.join(', src/')} a layer in LAYERS (docs/architecture.md)`);

const OUTSIDE = ['examples', 'bench', 'scripts'];
// Tests and their helpers may reach across the layers (an enclave test drives a Session); the rule
// is about the code.
const TESTS = ['**/*.test.ts', '**/*.testkit.ts'];
const CRYPTO = [
  { name: 'node:crypto', message: 'Only src/crypto/ imports node:crypto (STYLE.md 7).' },
  { name: 'crypto', message: 'Only src/crypto/ imports node:crypto (STYLE.md 7).' },
];
const TEST_ONLY = {
  paths: [
    { name: 'node:test', message: 'Only *.test.ts and *.testkit.ts files import node:test.' },
    { name: 'test', message: 'Only *.test.ts and *.testkit.ts files import node:test.' },
  ],
  patterns: [{ regex: '\\.testkit(\\.ts)?$', message: 'Only *.test.ts and *.testkit.ts files import test helpers (*.testkit.ts).' }],
};
const TEST_FILES = ['**/*.test.ts', '**/*.testkit.ts', 'bench/**', 'scripts/**'];
const esc = (s) => s.replace(/[.]/g, '\\.');
const layerOf = (entry) => LAYERS.findIndex((l) => l.includes(entry));

/** The patterns for a file in src/`entry` that is `depth` folders below src/. */
function patterns(entry, depth, allowed = []) {
  const up = depth === 0 ? '\\./' : `(\\.\\./){${depth}}`;
  const mine = layerOf(entry);
  const out = [];
  for (const [i, layer] of LAYERS.entries()) {
    if (i > mine) break;
    for (const other of layer) {
      if (other === entry || allowed.includes(other)) continue;
      const why = i === mine ? 'its own layer\'s peer' : 'a higher layer';
      out.push({
        regex: `^${up}${esc(other)}(/|$)`,
        message: `src/${entry} may not import src/${other} (${why}): the layers run ${LAYERS.map((l) => l.join('/')).join(' → ')}; see docs/architecture.md.`,
      });
    }
  }
  for (const dir of OUTSIDE) {
    if (allowed.includes(dir)) continue;
    out.push({ regex: `^${up}\\.\\./${dir}/`, message: `src/ stands alone: it may not import ${dir}/ (docs/architecture.md).` });
  }
  return out;
}

function rule(entry, depth, allowed) {
  return ['error', { paths: [...(entry === 'crypto' ? [] : CRYPTO), ...TEST_ONLY.paths], patterns: [...patterns(entry, depth, allowed), ...TEST_ONLY.patterns] }];
}

const layerConfigs = [];
for (const entry of LAYERS.flat()) {
  if (entry.endsWith('.ts')) {
    layerConfigs.push({ files: [`src/${entry}`], ignores: TESTS, rules: { 'no-restricted-imports': rule(entry, 0) } });
    continue;
  }
  for (let depth = 1; depth <= 5; depth++) {
    layerConfigs.push({ files: [`src/${entry}/${'*/'.repeat(depth - 1)}*.ts`], ignores: TESTS, rules: { 'no-restricted-imports': rule(entry, depth) } });
  }
}
for (const [file, allowed] of Object.entries(NOT_YET)) {
  const [, entry, ...rest] = file.split('/');
  layerConfigs.push({ files: [file], rules: { 'no-restricted-imports': rule(entry, rest.length, allowed) } });
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'tmp/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [...CRYPTO, ...TEST_ONLY.paths], patterns: TEST_ONLY.patterns }],
      // 4. no node:crypto key generation jobs: on Node 20 a key that generateKeyPair(Sync) made can
      //    deadlock the process for ever when the job is garbage-collected while the key is being
      //    exported (docs/decisions.md 43; scripts/keygen-deadlock.mjs shows it).
      'no-restricted-syntax': ['error', {
        selector: 'Identifier[name=/^generateKeyPair(Sync)?$/]',
        message: 'Node 20 can deadlock on a key from generateKeyPair(Sync) (docs/decisions.md 43): build keys from random bytes (rfc8410.ts) or createECDH (ecdsa.ts).',
      }],
    },
  },
  // Later entries replace the rule's options for the files they match, so each keeps the half that applies.
  { files: ['src/crypto/**/*.ts'], rules: { 'no-restricted-imports': ['error', TEST_ONLY] } },
  ...layerConfigs,
  { files: TEST_FILES, rules: { 'no-restricted-imports': ['error', { paths: CRYPTO }] } },
  { files: ['src/crypto/**/*.test.ts', 'src/crypto/**/*.testkit.ts'], rules: { 'no-restricted-imports': 'off' } },
);
