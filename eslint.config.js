import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Platform and persistence packages that must never reach the platform-free core. */
const forbiddenInCore = [
  { group: ['@slack/*'], message: 'src/core is platform-free: Slack belongs in src/channels/slack.' },
  { group: ['@microsoft/agents-*'], message: 'src/core is platform-free: Teams belongs in src/channels/teams.' },
  { group: ['mongoose', 'mongoose/*', 'mongodb'], message: 'src/core is persistence-free: use a repository port from src/store.' },
  { group: ['agenda', '@agendajs/*'], message: 'src/core is scheduler-free: timers belong in src/jobs.' },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', '.cache/', 'coverage/', 'test/fixtures/lint/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/flows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: forbiddenInCore }] },
  },
);
