import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The test files `npm run mutate` (StrykerJS, stryker.config.mjs) runs against each mutant: those that
 * exercise src/sync, src/archive, src/legal-hold, src/export/verify-bundle.ts and the API's auth
 * in-process. Files that only drive the CLI or the service as a child process are left out: a
 * child runs the sandbox's code without the active mutant, so it can kill nothing and only costs
 * time. Same global setup (one PostgreSQL, a migrated template database) as `npm test`.
 *
 * The base is spread, not passed through mergeConfig: mergeConfig concatenates arrays, so the base's
 * every-test glob stayed in `include` and every suite (92 files) ran in the dry run.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/sync/*.test.ts',
      'test/unit/cost-plan.test.ts',
      'test/unit/horizon.test.ts',
      'test/unit/read-plan.test.ts',
      'test/unit/sync-figures.test.ts',
      'test/unit/legal-hold-rules.test.ts',
      'test/archive/*.test.ts',
      'test/legal-hold/*.test.ts',
      'test/export/bundle-writer.test.ts',
      'test/export/verify-bundle.test.ts',
      'test/export/export.test.ts',
      'test/service/auth.test.ts',
      'test/service/http-errors.test.ts',
      'test/service/openapi-contract.test.ts',
    ],
    // The legal-hold CLI suite drives a child process.
    exclude: ['test/legal-hold/cli.test.ts'],
  },
});
