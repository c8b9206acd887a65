/** The attribution table as Markdown (docs/results.md, `tokenmark lab attribution --table`). */
import type { AttributionRow } from './attribution.js'
import { formatRho } from './table.js'

/** One line per (ρ, B, probe), its seeds side by side (rows in the order given). */
export function attributionMarkdown(rows: readonly AttributionRow[]): string {
  const groups = new Map<string, AttributionRow[]>()
  for (const r of rows) {
    const k = `${r.rho}/${r.cohorts}/${r.probe}`
    groups.set(k, [...(groups.get(k) ?? []), r])
  }
  const sorted = [...groups.values()].sort((a, b) => a[0].rho - b[0].rho || a[0].cohorts - b[0].cohorts || a[0].probe.localeCompare(b[0].probe))
  const lines = [
    '| ρ | B | probe | log10 p per seed | seeds with p < 1e-6 | probe tokens (mean) | harvesting cohorts found per seed | false cohorts per seed | missed cohorts per seed |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  for (const g of sorted) {
    const r0 = g[0]
    const per = (f: (r: AttributionRow) => string) => g.map(f).join(', ')
    lines.push(
      `| ${formatRho(r0.rho)} | ${r0.cohorts} | ${r0.probe} | ${per((r) => r.log10P.toFixed(2))} | ${g.filter((r) => r.log10P < -6).length} of ${g.length} | ${Math.round(g.reduce((a, r) => a + r.probeTokens, 0) / g.length).toLocaleString('en-US')} | ` +
        `${per((r) => `${r.harvestingCohorts.length - r.missedCohorts.length}/${r.harvestingCohorts.length}`)} | ${per((r) => String(r.falseCohorts.length))} | ${per((r) => String(r.missedCohorts.length))} |`,
    )
  }
  const r = rows[0]
  if (r) {
    lines.push(
      '',
      `Cohorts flagged by Holm at α = ${r.alpha} over the schedule's B cohorts; global test: pooled keyed replay (replay) / best cohort × B (heldout). ` +
        `Student: ${(r.teacherTokens + r.humanTokens).toLocaleString('en-US')} training tokens, harvest passes ${r.harvestPasses}; records under investigation: ${r.replay}` +
        `${r.probeTemperature !== undefined ? `; answers sampled at temperature ${r.probeTemperature}` : ''}` +
        `${r.replayKeys === 'every' ? '; replayed answers scored under every key that served a record under investigation' : ''}.`,
    )
  }
  return lines.join('\n') + '\n'
}
