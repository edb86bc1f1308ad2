/** Jest runs TypeScript as native ESM through SWC; the embedded database is shared per run. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
    // jose ships ES modules only and the Agents SDK's jwks-rsa require()s it: Node 20 can, Jest on Node 20 cannot,
    // so for tests it is compiled to CommonJS.
    '^.+/node_modules/jose/.+\\.js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The builds of src/ that child processes start (test/helpers/test-build.mjs): not the tests' modules.
  modulePathIgnorePatterns: ['<rootDir>/\\.test-build-'],
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
  // 60 s: a test that boots Roster inside `it` took over 30 s once in CI (metrics-access, two workers and the database on two cores).
  testTimeout: 60000,
  maxWorkers: 2,
  // Jest's ESM module registry leaks: a worker grew to 2 GB within 35 test files and every later
  // file ran several times slower (GC). A worker past this after a file is replaced by a fresh one.
  workerIdleMemoryLimit: '800MB',
};
