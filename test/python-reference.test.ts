/**
 * The Python reference (integrations/python) runs its unittest suite against Debian's python3-numpy and
 * python3-torch (installed by .ci/run): conformance vectors, bit-for-bit agreement with core on thousands of
 * contexts and Gumbel draws, and torch generations detected by core at p < 1e-6. Its cross-checks call the
 * built packages (dist) through integrations/python/tests/core_bridge.mjs, so `pnpm build` first.
 * Any failure, error or missing interpreter fails this test; the count of tests run is checked so a suite
 * that silently found nothing fails too.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PYTHON = process.env.TOKENMARK_PYTHON ?? '/usr/bin/python3'

test('the Python reference passes its unittest suite (vectors, agreement with core, torch end to end)', () => {
  const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.', '-v'], {
    cwd: join(ROOT, 'integrations/python'),
    encoding: 'utf8',
    env: { ...process.env, TOKENMARK_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1' },
    timeout: 590_000, // a hang guard only: the suite takes about a minute on an idle 2-core machine
  })
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`
  if (r.error) throw new Error(`could not run ${PYTHON}: ${r.error.message}`)
  expect(r.status, out.slice(-4000)).toBe(0)
  const ran = /Ran (\d+) tests?/.exec(out)
  expect(Number(ran?.[1] ?? 0), out.slice(-4000)).toBeGreaterThanOrEqual(12)
  expect(out).not.toMatch(/\.\.\. skipped|skipped=\d/) // unittest's markers for a skipped test
}, 600_000)
