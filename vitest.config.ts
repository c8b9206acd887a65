import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

// Tests import packages by name; resolve them to source so a test never runs stale dist code.
// CLI and server end-to-end tests spawn the built binaries instead, which `npm test` builds first.
export default defineConfig({
  resolve: {
    alias: {
      '@tokenmark/core': src('core'),
      '@tokenmark/lab': src('lab'),
      '@tokenmark/evidence': src('evidence'),
      '@tokenmark/server': src('server'),
      '@tokenmark/transformers': src('transformers'),
    },
  },
  test: {
    // The server tests run once per store (issue 16 §1): SQLite with everything else, PostgreSQL in the
    // "server-pg" project (packages/server/test/helpers.ts reads TOKENMARK_TEST_STORE). `include` lives in
    // the projects, not here: extended arrays are concatenated, not replaced.
    projects: [
      // replicas.test.ts is about PostgreSQL only: it runs in server-pg, not skipped in default.
      { extends: true, test: { name: 'default', include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'], exclude: ['**/node_modules/**', 'packages/server/test/replicas.test.ts'] } },
      { extends: true, test: { name: 'server-pg', include: ['packages/server/test/**/*.test.ts'], env: { TOKENMARK_TEST_STORE: 'postgres' } } },
    ],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // CI reads its closing line from this report (see .ci/run).
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
})
