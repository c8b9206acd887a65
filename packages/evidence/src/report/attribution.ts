/**
 * The report's attribution section (issue 13 §6): a bundle's schedule analysis (schedule.ts) in plain words —
 * the global test, the per-cohort table with the stated correction, the accounts behind each flagged cohort
 * (from the serving log) and the log's integrity. Shared by the HTML and Markdown renderings via the model.
 */
import type { EvidenceBody } from '../body.js'
import { int, pow10Text } from './numbers.js'

export interface AttributionModel {
  sentence: string
  /** How the global p-value was formed and how cohorts were flagged. */
  rules: string[]
  /** cohort, tokens scored, p, Holm-adjusted p, flagged. */
  cohorts: string[][]
  /** epoch, tokens scored, p, Holm-adjusted p, flagged. */
  epochs: string[][]
  accounts: { cohort: string; accounts: string }[]
  log: [string, string][]
}

const MAX_ACCOUNTS_SHOWN = 50

export function attributionModel(body: EvidenceBody): AttributionModel | null {
  const s = body.schedule
  if (!s) return null
  const r = s.result
  const flagged = r.cohorts.filter((c) => c.flagged).map((c) => c.label)
  const sentence =
    r.log10P <= Math.log10(body.method.alpha)
      ? `Scored against key schedule ${s.scheduleId}, the texts carry the schedule's watermark (p = ${pow10Text(r.log10P)}); ${flagged.length ? `the cohort${flagged.length === 1 ? '' : 's'} ${flagged.join(', ')} ${flagged.length === 1 ? 'is' : 'are'} flagged at family-wise level ${r.alpha}` : `no single cohort is flagged at family-wise level ${r.alpha}`}.`
      : `Scored against key schedule ${s.scheduleId}, the texts do not show significant evidence of the schedule's watermark (p = ${pow10Text(r.log10P)}, level ${pow10Text(Math.log10(body.method.alpha))}).`
  const rules = [
    r.globalRule === 'pooled' && s.scoring === 'every-served'
      ? `Keyed replay under every served key: each text answered a prompt the provider served, and was scored under every key that served one of the texts' prompts (${int(r.keysUsed)} keys scored tokens), so a fragment of a harvested response counts under the key that served it wherever it appears. The global p-value is one exact test over every scored (key, token), pooled; the key set is fixed by the prompts replayed, not searched, so it needs no correction.`
      : r.globalRule === 'pooled'
      ? `Keyed replay: each text answered a prompt the provider served, and was scored under the key that served that prompt (${int(r.keysUsed)} keys scored tokens). The global p-value is one exact test over every scored token, pooled across keys; it needs no correction because no key was searched for.`
      : `Held-out texts (no serving key known): every text was scored under every key of the schedule; the global p-value is the best cohort's, multiplied by the ${int(r.cohortFamily)} cohorts (Bonferroni).`,
    ...(s.filters
      ? [
          `Emission filters: each key scored only tokens whose context it served in ${int(s.filters.records)} serving-log record${s.filters.records === 1 ? '' : 's'} (their texts; ${int(s.filters.keys.length)} keys, filters sealed in the bundle). Whether a context was served does not depend on the scored token's own green bit, so the test stays exact (Sander et al. 2024, §4).`,
        ]
      : []),
    `Per-cohort tests pool a cohort's keys over the epochs. A cohort is flagged when its Holm (1979) adjusted p-value over all ${int(r.cohortFamily)} cohorts of the schedule — counted whether or not a text touched them — is at most ${r.alpha}, so the chance that any cohort without signal is flagged is at most ${r.alpha}. Epochs are tested the same way over ${int(r.epochFamily)} epochs.`,
  ]
  const row = (name: string, g: { tokensScored: number; log10P: number; adjustedLog10P: number; flagged: boolean }) => [name, int(g.tokensScored), pow10Text(g.log10P), pow10Text(g.adjustedLog10P), g.flagged ? 'FLAGGED' : 'no']
  const accounts = s.accounts.map((a) => ({
    cohort: a.label,
    accounts: a.accounts.length === 0 ? '(none in the log)' : `${int(a.accounts.length)}: ${a.accounts.slice(0, MAX_ACCOUNTS_SHOWN).join(', ')}${a.accounts.length > MAX_ACCOUNTS_SHOWN ? `, … (${int(a.accounts.length - MAX_ACCOUNTS_SHOWN)} more in the bundle)` : ''}`,
  }))
  const log: [string, string][] = s.log
    ? [
        ['Serving log records', int(s.log.records)],
        ['Records keeping their texts', int(s.log.withText)],
        ['Head hash (SHA-256 chain)', s.log.head],
        [
          'Signed head',
          s.log.signature
            ? `by ${s.log.signature.signerId} at ${s.log.signature.signedAt}: signature ${s.log.signature.valid ? 'valid' : 'INVALID'}, ${s.log.signature.coversHead ? 'covers this log' : 'does NOT match this log'}`
            : 'none given',
        ],
      ]
    : [['Serving log', 'none given: serving keys came from the texts; no accounts named']]
  return { sentence, rules, cohorts: r.cohorts.map((c) => row(c.label, c)), epochs: r.epochs.map((e) => row(String(e.epoch), e)), accounts, log }
}
