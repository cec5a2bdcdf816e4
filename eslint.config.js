// Lint: typescript-eslint's recommended rules, plus the project's one structural rule:
// only src/crypto/ may import node:crypto (all cryptography lives in one audited folder).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'tmp/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [
        { name: 'node:crypto', message: 'Only src/crypto/ imports node:crypto (STYLE.md 7).' },
        { name: 'crypto', message: 'Only src/crypto/ imports node:crypto (STYLE.md 7).' },
      ] }],
    },
  },
  { files: ['src/crypto/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
);
