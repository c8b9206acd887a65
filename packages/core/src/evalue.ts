/**
 * Anytime-valid evidence: e-processes for the same nulls as the exact tests (significance.ts).
 * Each is a mixture of likelihood ratios, a nonnegative martingale with initial value 1 under H0, so
 * by Ville's inequality P[sup_t E_t ≥ 1/α] ≤ α: an investigator may probe a suspect API until the
 * e-value is conclusive and stop then without inflating the false-positive rate (Ramdas et al. 2023,
 * "Game-theoretic statistics and safe anytime-valid inference", §3; Robbins 1970 mixtures).
 *
 * binomial (k successes in n Bernoulli(p0) trials), prior on the alternative rate q uniform on [p0, 1]:
 *   E = ∫_{p0}^1 q^k (1−q)^{n−k} dq / ((1−p0) · p0^k (1−p0)^{n−k})
 *     = B(k+1, n−k+1) · P[Bin(n+1, p0) ≤ k] / ((1−p0) · p0^k (1−p0)^{n−k})
 *   (the incomplete-beta identity 1 − I_{p0}(k+1, n−k+1) = P[Bin(n+1, p0) ≤ k]).
 * gamma (n scores ~ Exp(1), sum S), alternatives Exp(λ) with λ uniform on (0, 1):
 *   E = ∫_0^1 λ^n e^{(1−λ)S} dλ = e^S · Γ(n+1) · P(n+1, S) / S^{n+1}
 *   with P the regularised lower incomplete gamma function.
 */
import type { Accumulator } from './accumulate.js'
import type { NullModel } from './schemes/types.js'
import { binomialLowerTailLog10 } from './stats/binomial.js'
import { gammaLowerTailLn } from './stats/gamma.js'
import { lnGamma } from './stats/special.js'

export interface EValue {
  /** The e-value, capped at the largest double (a smaller e-value is still valid); log10E is exact. */
  eValue: number
  /** log10 of the e-value: always finite (computed in log space end to end). */
  log10E: number
}

/**
 * The e-value of `count` scored tuples with statistic `value` under `model`. Everything is computed in
 * log space: the binomial mixture's lower tail is taken directly (not as 1 − the upper tail, which is
 * ln 0 when the count lies far below its null mean), so log10E is finite for every input.
 */
export function eValueFor(model: NullModel, count: number, value: number): EValue {
  if (count <= 0) return { eValue: 1, log10E: 0 }
  let lnE: number
  if (model.kind === 'binomial') {
    const n = count * model.trialsPerToken
    const k = Math.round(value)
    const p0 = model.p
    const lnB = lnGamma(k + 1) + lnGamma(n - k + 1) - lnGamma(n + 2)
    const lnLower = binomialLowerTailLog10(k, n + 1, p0) * Math.LN10
    lnE = lnB + lnLower - Math.log1p(-p0) - k * Math.log(p0) - (n - k) * Math.log1p(-p0)
  } else if (value <= 0) {
    // S = 0: ∫_0^1 λ^n dλ = 1/(n + 1).
    lnE = -Math.log(count + 1)
  } else {
    const n = count
    const S = value
    lnE = S + lnGamma(n + 1) + gammaLowerTailLn(S, n + 1) - (n + 1) * Math.log(S)
  }
  const log10E = lnE / Math.LN10
  return { eValue: Math.min(Math.exp(lnE), Number.MAX_VALUE), log10E }
}

/** The e-value of an accumulator's current evidence. */
export function eProcess(acc: Accumulator): EValue {
  return eValueFor(acc.nullModel, acc.tokensScored, acc.sum)
}
