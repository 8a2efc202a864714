// @ts-check
/**
 * Mutation testing (issue 12): `npm run mutate` mutates the code below and runs the tests in
 * vitest.mutation.config.ts against each mutant. Narrow it with Stryker's own flag, e.g.
 *   npm run mutate -- --mutate src/sync/read-plan.ts
 *   npm run mutate -- --mutate 'src/archive/**\/*.ts'
 * Reports go to reports/mutation/ (HTML and JSON). Not part of `npm test` or CI: see README.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/sync/**/*.ts',
    'src/archive/**/*.ts',
    'src/legal-hold/**/*.ts',
    'src/export/verify-bundle.ts',
    'src/service/auth.ts',
    'src/service/token-store.ts',
  ],
  // Each mutant runs only the tests that reached it in the dry run.
  coverageAnalysis: 'perTest',
  // Mutants in module-level code (constants, maps built at import) would need every test re-run
  // with a fresh module graph; they are reported as ignored instead of slowing every run.
  ignoreStatic: true,
  // Two cores at most: the tests also need PostgreSQL.
  concurrency: 2,
  // Several tests run whole sync passes against the simulator (seconds each); a mutant that makes
  // one loop or wait is cut off after 2 × its normal time + 20 s.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  // The dry run (every related test once, one worker, coverage per test) takes minutes.
  dryRunTimeoutMinutes: 40,
  // Re-runs reuse the results of mutants whose code and tests did not change
  // (reports/stryker-incremental.json); `npm run mutate -- --force` ignores them.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // Not copied into the sandbox: reports and other runs' sandboxes.
  ignorePatterns: ['reports', '.stryker-tmp*', 'dist', 'data', 'coverage', '.bench-*'],
  cleanTempDir: true,
  thresholds: { high: 80, low: 60, break: null },
};
