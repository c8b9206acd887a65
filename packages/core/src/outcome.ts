/**
 * What an accumulator means (docs/spec.md#outcome): the one result type every tool prints — `detect`,
 * the corpus test, evidence bundles, server cases. Its fields are described once, in OUTCOME_SCHEMA
 * below (plain JSON Schema), which the server composes into its route schemas and the CLI's JSON follows.
 *
 * H0: the scored tuples were written without knowledge of the key. With de-duplication on, distinct
 * tuples have iid null observations and the tail test (significance.ts) is exact; the e-value
 * (evalue.ts) is valid at any stopping time. With de-duplication off a repeated tuple repeats its
 * observation, the observations are not independent, and neither number is a valid test on real text
 * (Fernandez et al. 2023, "Three Bricks", §IV; measured here: 3–15 % false positives at α = 0.001).
 * Such an outcome says so: `valid` false, never `detected`, the e-value not anytime-valid, a warning.
 */
import type { Accumulator } from './accumulate.js'
import { eProcess } from './evalue.js'
import type { NullModel, StatisticName } from './schemes/types.js'
import { tailTest, testAccumulator } from './significance.js'
import { bonferroniLog10, pFromLog10 } from './stats/pvalue.js'

/** The default significance level of every verdict. */
export const DEFAULT_ALPHA = 1e-6

/** The p-value `tokensNeeded` aims at. */
const TARGET_LOG10P = -6

/** Why tokens were not scored, by reason (counts), and their total. */
export interface SkippedTokens {
  total: number
  /** Positions without enough preceding tokens for the seeding rule. */
  noContext: number
  /** Tuples already scored (de-duplication). */
  duplicate: number
  /** Tuples that occur in the prompts (or were excluded by the caller). */
  excluded: number
  /** Tuples outside the emission filter. */
  filtered: number
}

export interface Outcome {
  /** False when the test is not valid (de-duplication off); then `detected` is false too. */
  valid: boolean
  /** valid and p ≤ alpha. */
  detected: boolean
  alpha: number
  /** p-value of the exact tail test, corrected for `keysTested`. */
  pValue: number
  /** log10 of pValue: finite, the primary number (p underflows doubles on long texts). */
  log10P: number
  zScore: number
  /** Mixture e-value (capped at the largest double); log10E is exact and always finite. */
  eValue: number
  log10E: number
  /** Whether the e-value may be read at any stopping time (false when the test is not valid). */
  anytimeValid: boolean
  statistic: StatisticName
  /** The sufficient statistic: green count, g-sum or Gumbel score sum over the scored tuples. */
  value: number
  tokensTotal: number
  tokensScored: number
  tokensSkipped: SkippedTokens
  /** Scored tokens needed for p < 1e-6 at the observed per-token effect; null when the effect is not positive. */
  tokensNeeded: number | null
  dedup: boolean
  /** Keys searched; pValue is corrected for them (Bonferroni). */
  keysTested: number
  /** Anything the reader must know before trusting the numbers (empty when there is nothing). */
  warnings: string[]
}

export const NO_DEDUP_WARNING =
  'de-duplication is off: repeated (context, token) tuples were scored again, so this is not a valid test (no verdict; the e-value is not anytime-valid)'

export interface OutcomeOptions {
  /** Significance level (default DEFAULT_ALPHA). */
  alpha?: number
  /** Keys searched to find this accumulator's (default 1); the p-value is corrected for them. */
  keysTested?: number
}

/** The outcome of an accumulator's test. */
export function outcomeOf(acc: Accumulator, opts: OutcomeOptions = {}): Outcome {
  const alpha = opts.alpha ?? DEFAULT_ALPHA
  const keysTested = opts.keysTested ?? 1
  const t = testAccumulator(acc)
  const log10P = keysTested > 1 ? bonferroniLog10(t.log10P, keysTested) : t.log10P
  const e = eProcess(acc)
  const valid = acc.dedup
  const s = acc.skipped
  return {
    valid,
    detected: valid && log10P <= Math.log10(alpha),
    alpha,
    pValue: pFromLog10(log10P),
    log10P,
    zScore: t.zScore,
    eValue: e.eValue,
    log10E: e.log10E,
    anytimeValid: valid,
    statistic: acc.statistic,
    value: acc.sum,
    tokensTotal: acc.tokensTotal,
    tokensScored: acc.tokensScored,
    tokensSkipped: { total: acc.tokensTotal - acc.tokensScored, noContext: s.noContext, duplicate: s.duplicate, excluded: s.excluded, filtered: s.filtered },
    tokensNeeded: tokensNeeded(acc.nullModel, acc.tokensScored, acc.sum),
    dedup: acc.dedup,
    keysTested,
    warnings: valid ? [] : [NO_DEDUP_WARNING],
  }
}

/** One-sided normal quantile at 1e-6 (Φ⁻¹(1 − 1e-6)): the start of the search below. */
const Z_TARGET = 4.753424308822899

/**
 * Scored tuples needed to reach p < 1e-6 at the observed mean effect: the smallest n with
 * tail(n, n·mean) ≤ 1e-6 on the exact tail, to within 0.1 % of n (exact below ~1,000). The search
 * starts at the normal approximation's n and brackets it by doubling or halving, so a near-null effect
 * (n ~ 10¹²) costs a few dozen tail evaluations at about that n instead of a doubling walk from 1 and a
 * bisection down to one token (~85 evaluations, up to ~1 s per outcome).
 */
export function tokensNeeded(model: NullModel, scored: number, value: number): number | null {
  if (scored === 0) return null
  const mean = value / scored
  const nullMean = model.kind === 'binomial' ? model.p * model.trialsPerToken : 1
  const nullSd = model.kind === 'binomial' ? Math.sqrt(model.trialsPerToken * model.p * (1 - model.p)) : 1
  if (!(mean > nullMean)) return null
  // f(n) ≤ 0 ⇔ n reaches the target; f(0) = 6 (no tokens: p = 1)
  const f = (n: number) => tailTest(model, n, mean * n).log10P - TARGET_LOG10P
  const LIMIT = 1e13
  let hi = Math.min(LIMIT, Math.max(1, Math.ceil(((Z_TARGET * nullSd) / (mean - nullMean)) ** 2)))
  let fhi = f(hi)
  let lo = 0
  let flo = -TARGET_LOG10P
  if (fhi <= 0) {
    // halve until a failing n is found below (or 0: n = 1 already reaches the target)
    for (let m = Math.floor(hi / 2); m >= 1; m = Math.floor(m / 2)) {
      const fm = f(m)
      if (fm > 0) {
        lo = m
        flo = fm
        break
      }
      hi = m
      fhi = fm
    }
  } else {
    do {
      lo = hi
      flo = fhi
      hi *= 2
      if (hi > LIMIT) return null
      fhi = f(hi)
    } while (fhi > 0)
  }
  // Illinois regula falsi on the bracket: log p is close to linear in n, so a handful of evaluations
  // close it to the tolerance (bisection needs ~10 more at 0.1 %, each costly at large n).
  let side = 0
  for (let tol = Math.max(1, Math.floor(hi / 1024)); hi - lo > tol; tol = Math.max(1, Math.floor(hi / 1024))) {
    const step = Math.max(1, Math.floor(tol / 2))
    let c = Math.round(hi - (fhi * (hi - lo)) / (fhi - flo))
    c = Math.min(hi - step, Math.max(lo + step, c))
    if (!(c > lo && c < hi)) c = Math.floor((lo + hi) / 2)
    const fc = f(c)
    if (fc <= 0) {
      hi = c
      fhi = fc
      if (side === -1) flo /= 2
      side = -1
    } else {
      lo = c
      flo = fc
      if (side === 1) fhi /= 2
      side = 1
    }
  }
  return hi
}

/**
 * JSON Schema (draft 2020-12 subset that ajv and fast-json-stringify read) of an Outcome: the one
 * description of its fields. The server spreads `properties` into its route schemas; nothing else
 * re-describes them.
 */
export const OUTCOME_SCHEMA = {
  type: 'object',
  required: ['valid', 'detected', 'alpha', 'pValue', 'log10P', 'zScore', 'eValue', 'log10E', 'anytimeValid', 'statistic', 'value', 'tokensTotal', 'tokensScored', 'tokensSkipped', 'tokensNeeded', 'dedup', 'keysTested', 'warnings'],
  properties: {
    valid: { type: 'boolean', description: 'False when the test is not valid (de-duplication off): no verdict then' },
    detected: { type: 'boolean', description: 'valid and pValue ≤ alpha' },
    alpha: { type: 'number', description: 'Significance level of the verdict' },
    pValue: { type: 'number', description: 'Exact p-value (binomial or Gamma tail), corrected for keysTested' },
    log10P: { type: 'number', description: 'log10 of the p-value; finite where pValue underflows to 0' },
    zScore: { type: 'number', description: 'Normal-approximation score, for reference only' },
    eValue: { type: 'number', description: 'Mixture e-value (capped at the largest double; see log10E)' },
    log10E: { type: 'number', description: 'log10 of the e-value; always finite' },
    anytimeValid: { type: 'boolean', description: 'Whether the e-value may be read at any stopping time' },
    statistic: { type: 'string', enum: ['greenCount', 'gSum', 'scoreSum'] },
    value: { type: 'number', description: 'The sufficient statistic over the scored tuples' },
    tokensTotal: { type: 'integer' },
    tokensScored: { type: 'integer' },
    tokensSkipped: {
      type: 'object',
      required: ['total', 'noContext', 'duplicate', 'excluded', 'filtered'],
      properties: {
        total: { type: 'integer' },
        noContext: { type: 'integer', description: 'Without enough preceding tokens for the seeding rule' },
        duplicate: { type: 'integer', description: 'Repeated (context, token) tuples, scored once' },
        excluded: { type: 'integer', description: 'Tuples that occur in the prompts' },
        filtered: { type: 'integer', description: 'Outside the emission filter' },
      },
    },
    tokensNeeded: { type: ['integer', 'null'], description: 'Scored tokens needed for p < 1e-6 at the observed effect' },
    dedup: { type: 'boolean' },
    keysTested: { type: 'integer' },
    warnings: { type: 'array', items: { type: 'string' } },
  },
} as const
