/** What `tokenmark lab attribution` does. Its options are declared in commands/lab-attribution.ts. */
import { TokenmarkError } from '@tokenmark/core'
import { ATTRIBUTION_COHORTS, ATTRIBUTION_PROBES, ATTRIBUTION_RHOS, Attribution, LabError, attributionMarkdown, type AttributionOptions, type AttributionRow } from '@tokenmark/lab'
import { CliError } from '../errors.js'
import { formatP } from '../format.js'
import type { LabAttributionOptions } from '../commands/lab-attribution.js'

export function run(o: LabAttributionOptions): void {
  const say = (m: string) => process.stderr.write(`tokenmark: ${m}\n`)
  const base: AttributionOptions = { cohorts: o.cohorts, seed: o.seed, replay: o.replay, probeTokens: o.probeTokens, harvestPasses: o.passes, trainTokens: o.trainTokens, probeTemperature: o.probeTemperature, replayKeys: o.replayKeys }
  try {
    const t0 = Date.now()
    if (o.rho !== undefined) {
      const r = new Attribution(base).row(o.rho, o.probe)
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n')
      else {
        process.stdout.write(
          `rho = ${r.rho}, B = ${r.cohorts}, probe ${r.probe}: p = ${formatP(r.log10P)} (log10 p = ${r.log10P.toFixed(2)}, ${r.globalRule}), e-value ${formatP(r.log10E)}\n` +
            `  ${r.probeTokens} probe tokens, ${r.tokensScored} scored\n` +
            `  cohorts flagged (Holm, alpha ${r.alpha}): [${r.cohortsFlagged.join(', ')}]; harvesting: [${r.harvestingCohorts.join(', ')}]; false: [${r.falseCohorts.join(', ')}]; missed: [${r.missedCohorts.join(', ')}]\n`,
        )
      }
      return
    }
    if (o.nullSchedules !== undefined) {
      const n = new Attribution(base).nullRuns(o.probe, o.nullSchedules)
      const out = { cohorts: o.cohorts, probe: o.probe, seed: o.seed, schedules: o.nullSchedules, ks: n.ks, runsFlagged: n.runsFlagged, cohortTests: n.cohortTests, cohortTestsBelowAlpha: n.cohortTestsBelowAlpha, log10Ps: n.log10Ps }
      if (o.json) process.stdout.write(JSON.stringify(out) + '\n')
      else process.stdout.write(`rho = 0 over ${o.nullSchedules} schedules (B = ${o.cohorts}, ${o.probe}): KS D = ${n.ks.statistic.toFixed(3)} (p = ${n.ks.pValue.toFixed(3)}); runs with a cohort flagged: ${n.runsFlagged}; cohort tests with p <= alpha: ${n.cohortTestsBelowAlpha} of ${n.cohortTests}\n`)
      return
    }
    const rows: AttributionRow[] = []
    // Under every served key only replay rows differ, and B = 1 has one key: those rows are the table's own.
    const every = o.replayKeys === 'every'
    for (const cohorts of every ? ATTRIBUTION_COHORTS.filter((b) => b > 1) : ATTRIBUTION_COHORTS) {
      for (const seed of [1, 2, 3]) {
        const sim = new Attribution({ ...base, cohorts, seed })
        for (const probe of every ? (['replay'] as const) : ATTRIBUTION_PROBES) for (const rho of ATTRIBUTION_RHOS) rows.push(sim.row(rho, probe))
        say(`B = ${cohorts}, seed ${seed} done (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
      }
    }
    process.stdout.write(o.json ? JSON.stringify({ rows }) + '\n' : attributionMarkdown(rows))
  } catch (e) {
    if (e instanceof LabError || e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
}
