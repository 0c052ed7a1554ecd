import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/architecture.md: lower layers never import higher ones (types included), and product code never
 * imports dev/ (the local stack, emulators, tools), which a production build does not ship.
 */
function higherLayers(from, folders) {
  return folders.map((folder) => ({
    regex: `^(\\.\\./)+${folder}(/|$)`,
    message: `${from} must not import ${folder}/: see the layers in docs/architecture.md.`,
  }));
}

function layer(files, from, folders) {
  return {
    files: [files],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: higherLayers(from, folders) }],
    },
  };
}

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
            ...higherLayers('workflows/', ['worker', 'client', 'dev']),
          ],
        },
      ],
    },
  },
  layer('common/**/*.ts', 'common/', ['config', 'activities', 'workflows', 'worker', 'client', 'dev']),
  layer('config/**/*.ts', 'config/', ['activities', 'workflows', 'worker', 'client', 'dev']),
  layer('activities/**/*.ts', 'activities/', ['workflows', 'worker', 'client', 'dev']),
  layer('worker/**/*.ts', 'worker/', ['client', 'dev']),
  layer('client/**/*.ts', 'client/', ['worker', 'dev']),
);
