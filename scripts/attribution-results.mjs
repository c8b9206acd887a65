// The attribution table of docs/results.md (issue 13 §5) and the rho = 0 validity runs, from the built lab
// (`pnpm build` first). Usage:
//   node scripts/attribution-results.mjs cells <B> <out.json> [probeTokens] [own|every]   one B, seeds 1-3, every rho x probe
//     (own|every: the keys a replayed answer is scored under; with every, only the replay rows)
//   node scripts/attribution-results.mjs null <B> <probe> <schedules> <out.json> [probeTokens] [own|every]
//   node scripts/attribution-results.mjs table <cells.json>...                 Markdown from cell files
// Cells for different B are independent, so they can run as separate processes.
import { readFileSync, writeFileSync } from 'node:fs'
import { ATTRIBUTION_PROBES, ATTRIBUTION_RHOS, Attribution, attributionMarkdown } from '../packages/lab/dist/index.js'

const [mode, ...args] = process.argv.slice(2)
if (mode === 'cells') {
  const [b, out, probeTokens, replayKeys] = args
  const rows = []
  for (const seed of [1, 2, 3]) {
    const sim = new Attribution({ cohorts: Number(b), seed, probeTokens: probeTokens ? Number(probeTokens) : undefined, replayKeys })
    for (const probe of replayKeys === 'every' ? ['replay'] : ATTRIBUTION_PROBES) {
      for (const rho of ATTRIBUTION_RHOS) {
        rows.push(sim.row(rho, probe))
        writeFileSync(out, JSON.stringify(rows) + '\n')
        console.error(`B=${b} seed=${seed} ${probe} rho=${rho} log10P=${rows.at(-1).log10P.toFixed(2)} flagged=${rows.at(-1).cohortsFlagged}`)
      }
    }
  }
} else if (mode === 'null') {
  const [b, probe, n, out, probeTokens, replayKeys] = args
  const r = new Attribution({ cohorts: Number(b), seed: 1, probeTokens: probeTokens ? Number(probeTokens) : undefined, replayKeys }).nullRuns(probe, Number(n))
  writeFileSync(out, JSON.stringify({ cohorts: Number(b), probe, schedules: Number(n), ...r }) + '\n')
  console.error(`null B=${b} ${probe}: KS D=${r.ks.statistic.toFixed(3)} p=${r.ks.pValue.toFixed(3)} runsFlagged=${r.runsFlagged}/${n}`)
} else if (mode === 'table') {
  const rows = args.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')))
  process.stdout.write(attributionMarkdown(rows))
} else {
  console.error('usage: see the comment at the top of scripts/attribution-results.mjs')
  process.exit(2)
}
