import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` diffs src/db/schema.ts against migrations/ and writes the next SQL file.
// Views, triggers and functions are hand-written migrations (`drizzle-kit generate --custom`);
// test/db/schema-drift.test.ts fails when schema.ts, the snapshots and the migrations disagree.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  schemaFilter: ['archive'],
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
});
