import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Platform and persistence packages that must never reach the platform-free core. */
const forbiddenInCore = [
  { group: ['@slack/*'], message: 'src/core is platform-free: Slack belongs in src/channels/slack.' },
  { group: ['@microsoft/agents-*'], message: 'src/core is platform-free: Teams belongs in src/channels/teams.' },
  { group: ['mongoose', 'mongoose/*', 'mongodb'], message: 'src/core is persistence-free: use a repository port from src/store.' },
  { group: ['agenda', '@agendajs/*'], message: 'src/core is scheduler-free: timers belong in src/jobs.' },
];

/**
 * src/core/policies.ts holds the who-may rules as pure functions: it reads core types (and the
 * directory's Person and OrgConfig types) and throws core's coded errors, nothing else, so a rule
 * can never reach for a store, the directory or a platform.
 */
const onlyTypesInPolicies = [
  {
    regex: '^(?!\\./[\\w.-]+$|\\.\\./config/schemas\\.js$)',
    message: 'src/core/policies.ts reads core types only: pass what a rule needs as an argument.',
  },
  {
    regex: '^(\\./(?!errors\\.js$)[\\w.-]+|\\.\\./config/schemas\\.js)$',
    allowTypeImports: true,
    message: 'src/core/policies.ts imports types only (and the coded errors): a rule is a pure function.',
  },
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
  {
    files: ['src/core/policies.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: onlyTypesInPolicies }] },
  },
);
