// Lint: typescript-eslint's recommended rules, plus the project's structural import rules:
// - only src/crypto/ may import node:crypto (all cryptography lives in one audited folder);
// - only tests (*.test.ts) and test helpers (*.testkit.ts) may import test helpers or node:test,
//   so nothing the package ships (src/index.ts and what it reaches) pulls in test code.
//   bench/ and scripts/ are development tools outside the package and may use test helpers.
import tseslint from 'typescript-eslint';

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

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'tmp/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [...CRYPTO, ...TEST_ONLY.paths], patterns: TEST_ONLY.patterns }],
    },
  },
  // Later entries replace the rule's options for the files they match, so each keeps the half that applies.
  { files: ['src/crypto/**/*.ts'], rules: { 'no-restricted-imports': ['error', TEST_ONLY] } },
  { files: TEST_FILES, rules: { 'no-restricted-imports': ['error', { paths: CRYPTO }] } },
  { files: ['src/crypto/**/*.test.ts', 'src/crypto/**/*.testkit.ts'], rules: { 'no-restricted-imports': 'off' } },
);
