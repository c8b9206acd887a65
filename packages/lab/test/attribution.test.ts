import { describe, expect, test } from 'vitest'
import { Attribution, stateOfTheUnion, type AttributionOptions } from '@tokenmark/lab'

/** A small world: 12 customers, 2 harvesting clusters of 2 accounts, B = 4 cohorts over 2 epochs. */
const small: AttributionOptions = {
  cohorts: 4,
  epochs: 2,
  customers: 12,
  customerRequests: 1,
  clusters: 2,
  clusterAccounts: 2,
  decoys: 4,
  trainTokens: 3000,
  probeTokens: 4000,
  answerTokens: 60,
  seed: 7,
}

describe('attribution simulation', () => {
  test('keyed replay catches a student trained on its harvest and names the harvesting cohorts, no other', () => {
    // one pass: a harvest seen three times has no n-gram counts of 1 or 2, which Kneser-Ney's discount
    // estimate needs; ρ = 1 is the only setting where no human text supplies them
    const sim = new Attribution({ ...small, harvestPasses: 1, probeTokens: 20_000 })
    const r = sim.row(1, 'replay')
    expect(r.harvestRecords).toBeGreaterThan(0)
    expect(r.teacherTokens).toBe(3000)
    expect(r.log10P).toBeLessThan(-6)
    expect(r.harvestingCohorts.length).toBeGreaterThan(0)
    expect(r.falseCohorts).toEqual([])
    expect(r.cohortsFlagged.length).toBeGreaterThan(0)
    expect(Number.isFinite(r.log10E)).toBe(true)
    expect(r.logRecords).toBe(12 + r.harvestRecords)
    expect(r.logHead).toMatch(/^[0-9a-f]{64}$/)
  }, 120_000)

  test('rho = 0 over 100 independent schedules: global p-values look uniform and cohort flags stay at the level', () => {
    const sim = new Attribution({ ...small, alpha: 0.05 })
    const n = sim.nullRuns('replay', 100)
    expect(n.log10Ps).toHaveLength(100)
    expect(n.log10Ps.every((l) => Number.isFinite(l) && l <= 0)).toBe(true)
    expect(n.ks.pValue).toBeGreaterThan(0.001)
    expect(n.runsFlagged).toBeLessThanOrEqual(12) // Holm at 5 %: at most 5 of 100 expected
    expect(n.cohortTests).toBeGreaterThan(100)
  }, 120_000)

  test('replayKeys every: each replayed answer under every investigated key; caught, no false cohort, and valid at rho = 0 over 100 schedules', () => {
    const r = new Attribution({ ...small, harvestPasses: 1, probeTokens: 20_000, replayKeys: 'every' }).row(1, 'replay')
    expect(r.replayKeys).toBe('every')
    expect(r.log10P).toBeLessThan(-6)
    expect(r.falseCohorts).toEqual([])
    const n = new Attribution({ ...small, alpha: 0.05, replayKeys: 'every' }).nullRuns('replay', 100)
    expect(n.log10Ps.every((l) => Number.isFinite(l) && l <= 0)).toBe(true)
    expect(n.ks.pValue).toBeGreaterThan(0.001)
    expect(n.runsFlagged).toBeLessThanOrEqual(12)
  }, 120_000)

  test('a student larger than the book\'s student part learns from State of the Union addresses after it, in date order', () => {
    const addresses = stateOfTheUnion()
    expect(addresses.length).toBeGreaterThan(200)
    expect(addresses[0]).toMatch(/Fellow-Citizens of the Senate and House of Representatives/)
    // the student part holds ~100,000 o200k tokens; 130,000 training tokens at ρ = 0 need ~30,000 more
    const sim = new Attribution({ ...small, trainTokens: 130_000 })
    const { humanTokens, teacherTokens } = sim.student(0)
    expect(teacherTokens).toBe(0)
    expect(humanTokens).toBe(130_000)
  }, 120_000)
})
