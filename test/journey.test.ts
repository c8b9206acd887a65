/**
 * The investigation, end to end over HTTP on loopback, as the people involved would run it. The story lives
 * in scripts/demo-distillation.mjs (`pnpm demo:distillation`), so the demo and this test cannot drift apart:
 * a provider API watermarks (KGW, context width 1) and records accounts; a harvester with 25 account keys
 * collects N = 1200 responses; a student is trained on ρ = 0.85 of them (1020 responses) plus the lab's human
 * `student` text (≈ 52 % of its training tokens harvested; at ρ·N = 600, ≈ 40 %, p ranged 1e-5…1e-15 over
 * keys — too close to the 1e-6 line for a test), a control on the human text alone; both are served by the
 * suspect API; `tokenmark probe` collects 100 held-out prompts' answers from each into a `tokenmark serve`
 * case; the server seals each case's bundle with the tenant's signing key and renders its HTML report, and
 * `tokenmark verify` checks the bundle with the public key from /v1/signing-key. Here we check what it
 * leaves behind, and break it.
 * Needs the build (`pnpm build`): everything runs from dist, the CLI and the server as child processes.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'packages/cli/dist/main.js')
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-journey-'))

interface Summary {
  parameters: { harvest: number; rho: number; accounts: number; probes: number }
  training: { harvestedResponses: number; harvestedTokens: number; humanTokens: number; harvestedShare: number }
  server: Record<'student' | 'control', { caseId: string; samples: number; pValue: number; log10P: number; tokensScored: number; statistic: string; detected: boolean }>
  reports: Record<
    'student' | 'control',
    { report: string; bundle: string; summary: string; detected: boolean; bundleResult: { tokensScored: number; statistic: string; log10P: number } }
  >
  signingKey: string
  bundleVerified: boolean
  seconds: number
  attribution: {
    accounts: number
    clusters: number
    harvestingCohorts: number[]
    logRecords: number
    rho: number
    student: { detected: boolean; log10P: number; cohortsFlagged: number[]; samples: number }
    control: { detected: boolean; log10P: number; cohortsFlagged: number[]; samples: number }
    falseCohorts: number[]
    reached: string
    report: string
    bundle: string
  }
}
let summary: Summary
let demo: { code: number | null; err: string; seconds: number }

const tm = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })

beforeAll(async () => {
  const t0 = Date.now()
  demo = await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/demo-distillation.mjs'), '--out', dir, '--quiet', '--schedule-seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => resolve({ code, err, seconds: (Date.now() - t0) / 1000 }))
  })
  if (demo.code === 0) summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary
}, 170_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('distillation journey: provider → harvester → student → probe → server case → signed report', () => {
  // Its time is printed, not asserted (speed lives in benchmarks); beforeAll's timeout is the hang guard.
  test('the story runs to the end', () => {
    console.log(`demo:distillation ran in ${demo.seconds.toFixed(1)} s`)
    expect(demo.err).toBe('')
    expect(demo.code).toBe(0)
    expect(summary.training.harvestedResponses).toBe(1020)
  })

  test('the provider kept which account received each harvested response', () => {
    const log = readFileSync(join(dir, 'provider-response-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { account: string; format: string })
    expect(log.length).toBe(1200)
    expect(new Set(log.map((r) => r.account)).size).toBe(25)
    expect(new Set(log.map((r) => r.format))).toEqual(new Set(['openai', 'anthropic']))
  })

  test('the harvested student is detected at p < 1e-6; the control is not (p > 1e-3)', () => {
    expect(summary.server.student.pValue).toBeLessThan(1e-6)
    expect(summary.server.student.detected).toBe(true)
    expect(summary.server.control.pValue).toBeGreaterThan(1e-3)
    expect(summary.server.control.detected).toBe(false)
    for (const name of ['student', 'control'] as const) expect(summary.server[name].tokensScored).toBeGreaterThan(3000)
    // 100 probe samples per case, each with its prompt, in the probe file and in the server case
    for (const name of ['student', 'control'] as const) {
      expect(readFileSync(join(dir, `${name}-samples.jsonl`), 'utf8').trim().split('\n').length).toBe(100)
      expect(summary.server[name].samples).toBe(100)
    }
  })

  test('the server’s report names the verdict, and its bundle states exactly the case’s result', () => {
    const student = readFileSync(summary.reports.student.report, 'utf8')
    expect(student).toContain('class="verdict detected"')
    expect(student).toMatch(/id="verdict-sentence">[^<]*watermark/i)
    expect(student).toContain(summary.reports.student.summary.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'))
    expect(readFileSync(summary.reports.control.report, 'utf8')).toContain('class="verdict not-detected"')
    expect(summary.reports.student.summary).toMatch(/watermark/i)
    for (const name of ['student', 'control'] as const) {
      expect(summary.reports[name].detected).toBe(summary.server[name].detected)
      const { tokensScored, statistic, log10P } = summary.server[name]
      expect(summary.reports[name].bundleResult).toEqual({ tokensScored, statistic, log10P })
    }
  })

  test('attribution at ρ ≤ 5 %: hundreds of accounts, keyed replay, no false cohort, the control clear, the outcome stated as it is', () => {
    const at = summary.attribution
    expect(at.accounts).toBeGreaterThanOrEqual(300)
    expect(at.clusters).toBe(3)
    expect(at.rho).toBeGreaterThan(0.01)
    expect(at.rho).toBeLessThanOrEqual(0.05)
    expect(at.logRecords).toBeGreaterThan(300)
    // the control never learned from the provider: nothing detected, no cohort flagged
    expect(at.control.detected).toBe(false)
    expect(at.control.cohortsFlagged).toEqual([])
    // Holm at family-wise 0.01: a cohort that served no harvester is not flagged
    expect(at.falseCohorts).toEqual([])
    for (const c of at.student.cohortsFlagged) expect(at.harvestingCohorts).toContain(c)
    // keyed replay through per-key log filters finds the student at ρ ≤ 5 % and names harvesting cohorts
    // (this run is deterministic for --schedule-seed 1: log10 p −35.8, 6 of the 9 cohorts that served harvesters)
    expect(at.student.detected).toBe(true)
    expect(at.student.log10P).toBeLessThan(-6)
    expect(at.student.cohortsFlagged.length).toBeGreaterThan(0)
    expect(at.reached).toMatch(/the student is detected and harvesting cohorts? [\d, ]+ named, none falsely/)
    for (const name of ['student', 'control'] as const) expect(at[name].samples).toBe(readFileSync(join(dir, 'attribution', `${name}-replay.jsonl`), 'utf8').trim().split('\n').length)
    const html = readFileSync(at.report, 'utf8')
    expect(html).toContain('<section id="attribution">')
    expect(html).toMatch(/signature valid, covers this log/)
    const v = tm(['verify', at.bundle, '--public-key', join(dir, 'attribution', 'investigator.key.pub'), '--schedule', join(dir, 'attribution', 'provider.schedule'), '--schedule-public', join(dir, 'attribution', 'provider.schedule.json'), '--json'])
    expect(v.status, v.stdout).toBe(0)
    const logOk = tm(['log', 'verify', join(dir, 'attribution', 'serving.log'), '--signature', join(dir, 'attribution', 'log-head.json'), '--public-key', join(dir, 'attribution', 'provider-signing.key.pub')])
    expect(logOk.status, logOk.stdout).toBe(0)
  })

  test('the bundle verifies with the tenant’s public key from /v1/signing-key and the watermark key; one flipped byte fails', () => {
    expect(summary.bundleVerified).toBe(true)
    expect(summary.signingKey).toBe(join(dir, 'signing.key.pub'))
    expect(JSON.parse(readFileSync(summary.signingKey, 'utf8'))).toMatchObject({ format: 'tokenmark-signing-public-key', algorithm: 'ed25519' })
    const ok = tm(['verify', summary.reports.student.bundle, '--public-key', join(dir, 'signing.key.pub'), '--key', join(dir, 'provider.tmkey')])
    expect(ok.status).toBe(0)
    expect(ok.stdout).toMatch(/^VALID: /)
    const bytes = readFileSync(summary.reports.student.bundle)
    const flipped = join(dir, 'flipped.tmev')
    const i = Math.floor(bytes.length / 2)
    bytes[i] ^= 0x01
    writeFileSync(flipped, bytes)
    const bad = tm(['verify', flipped, '--public-key', join(dir, 'signing.key.pub')])
    expect(bad.status).toBe(1)
    expect(bad.stdout).toMatch(/^INVALID: /)
  })
})
