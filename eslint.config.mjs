import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.stack/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      // Type-only imports are erased from the bundle, so workflows may share activity result types.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'child_process', 'net', 'http', 'https'],
              message: 'Workflow code must stay deterministic: no Node APIs.',
            },
            {
              group: ['**/activities', '**/activities/**', 'mysql2', '@elastic/*', '@ovhcloud/*', 'ssh2'],
              message: 'Workflows call activities through proxyActivities only.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
