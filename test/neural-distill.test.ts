/**
 * Smoke test of the neural distillation script (scripts/neural/distill.mjs + distill.py) on a tiny setting:
 * the shipped model as teacher through the Python reference's embedder, one student per ρ ∈ {0, 1} fine-tuned
 * for one step, both probes, scored by core (~12 s of CPU with the reference BLAS). It checks the pipeline and the rules, not the table's
 * figures (those are docs/results.md, minutes per cell): the teacher's answers are detected, every row is a
 * finite valid test, the key's secret is never printed, and bad options exit 2 with one `tokenmark:` line.
 * Needs the built dist (`pnpm build`) and /usr/bin/python3 with torch (installed by .ci/run).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { DISTILL_KEY_CONFIG, distillKey } from '@tokenmark/lab'
import { fromBase64Url, toHex } from '@tokenmark/core'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SCRIPT = 'scripts/neural/distill.mjs'
const run = (args: string[]) =>
  spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 290_000, env: { ...process.env, OMP_NUM_THREADS: '1' } })

test('distill.mjs runs teacher, students and both probes end to end on a tiny setting', () => {
  const seed = 5
  const r = run(['--seed', String(seed), '--rhos', '0,1', '--dataset-tokens', '150', '--passes', '1', '--train-batch', '4', '--probe-tokens', '40', '--answer-tokens', '40', '--batch', '4', '--json'])
  expect(r.status, `${r.stderr}`.slice(-3000)).toBe(0)
  const out = JSON.parse(r.stdout)
  const [run0] = out.runs
  // The Python reference's watermark on the shipped model, read back by core through the model's tokenizer.json
  // (two 40-token answers here; the table's teacher: log10 p −1,116 over its first 64 answers).
  expect(run0.teacher.first64.tokensScored).toBeGreaterThan(60)
  expect(run0.teacher.first64.log10P).toBeLessThan(-4)
  const cells = run0.rows.map((x: { rho: number; probe: string; filter: string }) => `${x.rho}/${x.probe}/${x.filter}`).sort()
  expect(cells).toEqual(['0/heldout/accounts', '0/heldout/off', '0/replay/accounts', '0/replay/off', '1/heldout/accounts', '1/heldout/off', '1/replay/accounts', '1/replay/off'])
  for (const row of run0.rows) {
    expect(Number.isFinite(row.log10P) && row.log10P <= 0).toBe(true)
    expect(row.probeTokens).toBeGreaterThanOrEqual(40)
    if (row.filter === 'off') expect(row.tokensScored).toBeGreaterThan(20)
    expect(row.steps).toBeGreaterThan(0)
  }
  // The control student trained on human text only; the ρ = 1 student on harvest records only.
  const ctl = run0.rows.find((x: { rho: number }) => x.rho === 0)
  const all = run0.rows.find((x: { rho: number }) => x.rho === 1)
  expect([ctl.records, ctl.harvestTokens, all.humanTokens]).toEqual([0, 0, 0])
  expect(ctl.replayRecords).toBeGreaterThan(0) // it replays the harvest it never trained on
  const secret: string = JSON.parse(distillKey(seed, { ...DISTILL_KEY_CONFIG, tokenizer: 'tinylm' }).toKeyFile()).secret
  for (const s of [secret, toHex(fromBase64Url(secret) ?? new Uint8Array())]) expect(`${r.stdout}${r.stderr}`).not.toContain(s)
}, 300_000)

test('distill.mjs refuses bad options with one line and exit 2', () => {
  const r = run(['--rhos', '0,2'])
  expect(r.status).toBe(2)
  expect(r.stderr).toMatch(/^tokenmark: --rhos must be numbers in \[0, 1\]\n$/)
})
