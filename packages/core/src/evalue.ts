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
import { binomialUpperTailLog10 } from './stats/binomial.js'
import { gammaUpperTailLog10 } from './stats/gamma.js'
import { lnGamma } from './stats/special.js'

export interface EValue {
  /** The e-value (may be Infinity when it overflows a double; use log10E). */
  eValue: number
  log10E: number
}

/** ln(1 − 10^x) for x ≤ 0, stable near both ends. */
function ln1mPow10(x: number): number {
  const y = x * Math.LN10
  return y > -Math.LN2 ? Math.log(-Math.expm1(y)) : Math.log1p(-Math.exp(y))
}

/** ln P(a, x), the regularised lower incomplete gamma, for a > 0, x ≥ 0 (DLMF 8.7.1 series below a+1). */
function lnLowerGamma(a: number, x: number): number {
  if (x <= 0) return -Infinity
  if (x < a + 1) {
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 100_000; n++) {
      term *= x / (a + n)
      sum += term
      if (term < sum * 1e-17) break
    }
    return -x + a * Math.log(x) - lnGamma(a) + Math.log(sum)
  }
  return ln1mPow10(gammaUpperTailLog10(x, a))
}

export function eValueFor(model: NullModel, count: number, value: number): EValue {
  if (count <= 0) return { eValue: 1, log10E: 0 }
  let lnE: number
  if (model.kind === 'binomial') {
    const n = count * model.trialsPerToken
    const k = Math.round(value)
    const p0 = model.p
    const lnB = lnGamma(k + 1) + lnGamma(n - k + 1) - lnGamma(n + 2)
    const lnLower = ln1mPow10(binomialUpperTailLog10(k + 1, n + 1, p0))
    lnE = lnB + lnLower - Math.log1p(-p0) - k * Math.log(p0) - (n - k) * Math.log1p(-p0)
  } else {
    const n = count
    const S = value
    lnE = S + lnGamma(n + 1) + lnLowerGamma(n + 1, S) - (n + 1) * Math.log(S)
  }
  const log10E = lnE / Math.LN10
  return { eValue: Math.exp(lnE), log10E }
}

/** The e-value of an accumulator's current evidence. */
export function eProcess(acc: Accumulator): EValue {
  return eValueFor(acc.nullModel, acc.tokensScored, acc.sum)
}
