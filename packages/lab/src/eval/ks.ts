/**
 * One-sample Kolmogorov–Smirnov test against U(0, 1), for checking that p-values under H0 look uniform.
 *   D = max_i max(i/n − u_(i), u_(i) − (i − 1)/n)  over the sorted sample u_(1) ≤ … ≤ u_(n)
 *   p ≈ Q_KS(λ), λ = (√n + 0.12 + 0.11/√n) · D,  Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2 j² λ²}
 * (Kolmogorov 1933's limit law with Stephens 1970's small-sample correction, as in Numerical Recipes
 * §14.3; accurate to a few per cent of p for n ≥ 20). Discrete, conservative p-values (exact binomial
 * tails) satisfy P[p ≤ u] ≤ u, so they make D larger only by about the largest atom of their law.
 */
import { LabError } from '../errors.js'

export interface KsResult {
  /** The KS statistic D. */
  statistic: number
  /** Asymptotic p-value of D under "the sample is iid U(0, 1)". */
  pValue: number
  n: number
}

/** Q_KS(λ): the Kolmogorov distribution's upper tail. */
export function kolmogorovTail(lambda: number): number {
  if (lambda < 0.2) return 1
  let sum = 0
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda)
    sum += (j % 2 === 1 ? 1 : -1) * term
    if (term < 1e-17) break
  }
  return Math.min(1, Math.max(0, 2 * sum))
}

export function ksUniform(sample: readonly number[]): KsResult {
  const n = sample.length
  if (n === 0) throw new LabError('E_BAD_INPUT', 'ksUniform: empty sample')
  const u = [...sample].sort((a, b) => a - b)
  if (!(u[0] >= 0 && u[n - 1] <= 1)) throw new LabError('E_BAD_INPUT', 'ksUniform: values must lie in [0, 1]')
  let d = 0
  for (let i = 0; i < n; i++) d = Math.max(d, (i + 1) / n - u[i], u[i] - i / n)
  const sn = Math.sqrt(n)
  return { statistic: d, pValue: kolmogorovTail((sn + 0.12 + 0.11 / sn) * d), n }
}
