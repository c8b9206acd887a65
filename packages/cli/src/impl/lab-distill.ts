/** What `tokenmark lab distill` does. Its options type lives here; commands/lab.ts declares the flags and loads this module only when it runs. */
import type { WatermarkKey } from '@tokenmark/core'
import { DISTILL_RHOS, Distillation, distillKey, distillMarkdown, parseDistillFilter, type DistillOptions, type DistillRow } from '@tokenmark/lab'
import { CliError } from '../errors.js'
import { formatP } from '../format.js'
import { loadKey } from '../load.js'

/** Options as commander parses them from the declaration below. */
export interface DistillCliOptions {
  rho?: string
  table?: boolean
  filter?: boolean | string
  key?: string
  seed: string
  trainTokens?: string
  servedTokens?: string
  probeAnswers?: string
  json?: boolean
}

/** `lab distill`'s options once checked. */
export type LabDistillOptions = Omit<DistillCliOptions, 'rho' | 'seed' | 'trainTokens' | 'servedTokens' | 'probeAnswers'> & {
  rho?: number
  seed: number
  trainTokens?: number
  servedTokens?: number
  probeAnswers?: number
}

export function run(o: LabDistillOptions): void {
  const { rho, seed } = o
  const options: DistillOptions = { seed, trainTokens: o.trainTokens, servedTokens: o.servedTokens, probeAnswers: o.probeAnswers }
  const key: WatermarkKey = o.key === undefined ? distillKey(seed) : loadKey(o.key)
  const say = (m: string) => process.stderr.write(`tokenmark: ${m}\n`)
  const t0 = Date.now()
  say(`teacher (key ${key.keyId}, ${key.scheme} ${JSON.stringify(key.config.params)}) serving responses…`)
  const sim = new Distillation(key, options)
  say(`served ${sim.served.responses.length} responses (${sim.served.tokens} tokens) in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  if (rho !== undefined) {
    const mode = parseDistillFilter(o.filter)
    const r = sim.rows(rho).find((row) => row.filterMode === mode) as DistillRow
    // a DistillRow is the --json shape: the fields of scan --json plus rho, the filter and the training mix
    if (o.json) process.stdout.write(JSON.stringify(r) + '\n')
    else {
      process.stdout.write(
        `rho = ${rho}: p = ${formatP(r.log10P)} (log10 p = ${r.log10P.toFixed(2)}), e-value ${formatP(r.log10E)}, filter ${r.filterMode}\n` +
          `  tokens: ${r.tokensTotal} seen, ${r.tokensScored} scored, ${r.tokensSkipped.excluded} in prompts, ${r.tokensSkipped.filtered} outside the filter\n` +
          `  tokens needed for p < 1e-6 at the observed effect: ${r.tokensNeeded ?? '—'}\n` +
          `  student trained on ${r.teacherTokens} teacher + ${r.humanTokens} human tokens\n`,
      )
    }
    return
  }
  const rows: DistillRow[] = []
  for (const r of DISTILL_RHOS) {
    rows.push(...sim.rows(r))
    say(`rho = ${r} done (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
  }
  const setup = sim.setup()
  process.stdout.write(o.json ? JSON.stringify({ setup, rows }) + '\n' : distillMarkdown(rows, setup))
}
