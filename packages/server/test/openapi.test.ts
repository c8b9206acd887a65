import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'
import { testServer } from './helpers.js'

const run = promisify(execFile)
const redocly = resolve(import.meta.dirname, '../../../node_modules/.bin/redocly')

test('the OpenAPI document passes `redocly lint` (recommended rules) with no errors or warnings', async () => {
  const s = await testServer()
  const doc = JSON.parse((await s.app.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, unknown> }
  await s.app.close()
  expect(Object.keys(doc.paths).length).toBeGreaterThanOrEqual(10)
  const dir = mkdtempSync(join(tmpdir(), 'tokenmark-openapi-'))
  try {
    const file = join(dir, 'openapi.json')
    writeFileSync(file, JSON.stringify(doc, null, 2))
    const out = await run(redocly, ['lint', file, '--format', 'json', '--extends', 'recommended'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      timeout: 60_000,
    }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }))
    const report = JSON.parse(out.stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] }
    const problems = report.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)
    expect(problems, problems.join('\n')).toEqual([])
    expect(report.totals.errors).toBe(0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
