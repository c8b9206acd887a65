/**
 * From an accumulator to a p-value (docs/spec.md#tests).
 * H0: the scored tokens were written without knowledge of the key. Then, because each distinct
 * (context, token) tuple gets an independent PRF value, the observations are iid from the scheme's
 * null model, and the tests below are exact:
 *   binomial (kgw, unigram, synthid): P[Bin(n·trials, p) ≥ statistic]
 *   gamma (gumbel):                   P[Gamma(T, 1) ≥ score sum]
 * A z-score is reported beside the exact p-value, never instead of it.
 */
import type { Accumulator } from './accumulate.js'
import type { NullModel, StatisticName } from './schemes/types.js'
import { binomialUpperTailLog10, binomialZScore } from './stats/binomial.js'
import { gammaUpperTailLog10, gammaZScore } from './stats/gamma.js'
import { pFromLog10 } from './stats/pvalue.js'

export interface TestResult {
  pValue: number
  /** log10 of the p-value; finite where pValue underflows to 0. */
  log10P: number
  zScore: number
  tokensScored: number
  statistic: StatisticName
  /** Value of the sufficient statistic. */
  value: number
}

/** Exact upper-tail test of `value` over `count` scored tuples under `model`. */
export function tailTest(model: NullModel, count: number, value: number): { log10P: number; zScore: number } {
  if (count <= 0) return { log10P: 0, zScore: 0 }
  if (model.kind === 'binomial') {
    const n = count * model.trialsPerToken
    const k = Math.round(value)
    return { log10P: binomialUpperTailLog10(k, n, model.p), zScore: binomialZScore(k, n, model.p) }
  }
  return { log10P: gammaUpperTailLog10(value, count), zScore: gammaZScore(value, count) }
}

export function testAccumulator(acc: Accumulator): TestResult {
  const { log10P, zScore } = tailTest(acc.nullModel, acc.tokensScored, acc.sum)
  return { pValue: pFromLog10(log10P), log10P, zScore, tokensScored: acc.tokensScored, statistic: acc.statistic, value: acc.sum }
}
